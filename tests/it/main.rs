//! The integration tests: one binary, one module per area, and `support`, the helpers they
//! share. `cargo test --test it probe::` runs one module; a test's name runs that test.

mod support;

mod auth;
mod bridge;
mod bridge_envelope;
#[cfg(unix)]
mod bridge_era;
#[cfg(unix)]
mod clientconfig_claude;
mod clientconfig_props;
#[cfg(unix)]
mod clientconfig_race;
#[cfg(unix)]
mod clientconfig_refuse;
mod clients_cli;
mod clients_props;
#[cfg(unix)]
mod clients_real;
mod clients_shapes;
#[cfg(unix)]
mod faults;
mod forward;
mod forward_faults;
mod forward_mux;
#[cfg(unix)]
mod gateway_claude;
mod gateway_routes;
mod hub;
#[cfg(unix)]
mod inspector;
mod lab_cli;
mod lab_gateway;
mod lab_gateway_ws;
mod lab_kube;
#[cfg(unix)]
mod lab_kubectl;
mod lab_mcp;
mod lab_mcp_eras;
#[cfg(unix)]
mod lab_mcp_eras_python;
#[cfg(unix)]
mod lab_pods;
#[cfg(unix)]
mod logs;
mod mcp_client;
#[cfg(unix)]
mod peers;
mod probe;
mod probe_envelope;
#[cfg(unix)]
mod probe_era;
#[cfg(unix)]
mod probe_peers;
mod probe_tls;
mod profiles;
#[cfg(unix)]
mod profiles_unreadable;
#[cfg(unix)]
mod route_2026;
mod router;
mod router_auth;
#[cfg(unix)]
mod router_claude;
mod router_config;
mod router_envelope;
mod router_era;
mod router_faults;
mod router_freeze;
mod router_route;
mod tui_tmux;
mod up_cli;
