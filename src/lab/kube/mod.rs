//! Placeholder: the fake Kubernetes API server (being written).
