//! The client's side: lines in from stdin, lines out through one writer that owns stdout, and
//! short notes on stderr. Stdout carries JSON-RPC lines and nothing else.

use std::io::{BufRead, Write};

use tokio::sync::{mpsc, oneshot};

/// Where JSON-RPC lines for the client go. Each string is one message, without the newline.
pub type Out = mpsc::Sender<String>;

/// Lines from the client, without their newline; the channel closes at end of input.
pub type In = mpsc::Receiver<Vec<u8>>;

/// Resolves when the writer has stopped.
pub type Done = oneshot::Receiver<()>;

/// Starts the one thread that writes to `output` (stdout): every line whole, flushed as it
/// comes. Ends when every [`Out`] is dropped, or when the output cannot be written any more. A
/// thread rather than a task: a client that stops reading must not hold up the runtime.
pub fn spawn_writer<W>(mut output: W) -> (Out, Done)
where
    W: Write + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<String>(256);
    let (done_tx, done) = oneshot::channel();
    let spawned = std::thread::Builder::new().name("bridge-stdout".into()).spawn(move || {
        while let Some(mut line) = rx.blocking_recv() {
            line.push('\n');
            if let Err(error) = output.write_all(line.as_bytes()).and_then(|()| output.flush()) {
                tracing::warn!(%error, "the client's end of stdout is closed");
                break;
            }
        }
        let _ = done_tx.send(());
    });
    if let Err(error) = spawned {
        warn(format!("cannot write to stdout: {error}"));
    }
    (tx, done)
}

/// Reads stdin on a thread of its own, line by line. A thread rather than `tokio::io::stdin`:
/// a blocked read there would hold up the runtime's shutdown after SIGTERM.
pub fn stdin_lines() -> In {
    let (tx, rx) = mpsc::channel(64);
    let spawned = std::thread::Builder::new().name("bridge-stdin".into()).spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.ends_with(b"\n") {
                        line.pop();
                    }
                    if line.ends_with(b"\r") {
                        line.pop();
                    }
                    if tx.blocking_send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    if let Err(error) = spawned {
        note(format!("cannot read stdin: {error}"));
    }
    rx
}

/// A short line for the human on stderr (Claude Code keeps it in its MCP log), and the same in
/// the log file. Never a token or a secret.
pub fn note(message: impl AsRef<str>) {
    let message = message.as_ref();
    eprintln!("mcp-connect bridge: {message}");
    tracing::info!(target: "mcp_connect::bridge", "{message}");
}

/// As [`note`], for what went wrong.
pub fn warn(message: impl AsRef<str>) {
    let message = message.as_ref();
    eprintln!("mcp-connect bridge: {message}");
    tracing::warn!(target: "mcp_connect::bridge", "{message}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// What was written, shared with the test.
    #[derive(Clone, Default)]
    pub struct Sink(pub Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // Small pieces, so that interleaving would show.
            let n = buf.len().min(7);
            self.0.lock().unwrap().extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn lines_from_many_senders_come_out_whole() {
        let sink = Sink::default();
        let (out, done) = spawn_writer(sink.clone());
        let senders: Vec<_> = (0..8)
            .map(|i| {
                let out = out.clone();
                tokio::spawn(async move {
                    let line = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(300));
                    out.send(line).await.unwrap();
                })
            })
            .collect();
        for sender in senders {
            sender.await.unwrap();
        }
        drop(out);
        done.await.unwrap();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8);
        for line in lines {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["pad"].as_str().unwrap().len(), 300);
        }
    }
}
