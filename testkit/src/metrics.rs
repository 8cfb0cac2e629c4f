//! The relay's `/metrics`, fetched over HTTP and read.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::KitError;

/// How long the relay may take to serve `/metrics`.
const METRICS_TIME: Duration = Duration::from_secs(10);

/// The body of the relay's `/metrics` (OpenMetrics text).
pub async fn fetch_metrics(addr: SocketAddr) -> Result<String, KitError> {
    let fetch = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(KitError::io("metrics: connect"))?;
        let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(KitError::io("metrics: request"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(KitError::io("metrics: answer"))?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        Ok(text
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, body)| body.to_owned()))
    };
    tokio::time::timeout(METRICS_TIME, fetch)
        .await
        .map_err(|_| KitError::Timeout(METRICS_TIME))?
}

/// The sum of a metric's samples over all its label sets.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A labelled metric's lines, label sets and values (`{code="x"} 3`).
pub fn metric_lines(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{'))
        })
        .map(|l| l.trim_start_matches(name).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP estafette_relay_errors Error frames sent, by code.
estafette_relay_errors_total{code=\"rate_limited\"} 3
estafette_relay_errors_total{code=\"internal\"} 1
estafette_relay_queue_depth 12
estafette_relay_queue_depth_extra 99
";

    #[test]
    fn a_metric_sums_its_label_sets_and_only_its_own_name() {
        assert_eq!(metric(TEXT, "estafette_relay_errors_total"), 4.0);
        assert_eq!(metric(TEXT, "estafette_relay_queue_depth"), 12.0);
        assert_eq!(metric(TEXT, "estafette_relay_missing"), 0.0);
    }

    #[test]
    fn labelled_lines_keep_their_labels() {
        assert_eq!(
            metric_lines(TEXT, "estafette_relay_errors_total"),
            ["{code=\"rate_limited\"} 3", "{code=\"internal\"} 1"]
        );
        assert!(metric_lines(TEXT, "estafette_relay_queue_depth").is_empty());
    }
}
