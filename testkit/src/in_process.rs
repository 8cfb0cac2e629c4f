//! The relay in this process with its HTTP server, as the client's tests
//! run it: started on a chosen address, again after a stop.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use estafette_relay::{Relay, RelayError, Settings};

/// How long a restart waits for the port of the stopped relay to free.
const PORT_WAIT: Duration = Duration::from_secs(5);

/// Starts the relay on `addr` with the data in `data_dir`, waiting (at most
/// [`PORT_WAIT`]) for the port to free after a relay that just stopped.
pub async fn start_relay_on(data_dir: &Path, addr: SocketAddr) -> Result<Relay, RelayError> {
    let mut settings = Settings::ephemeral(data_dir.to_path_buf());
    settings.listen = addr;
    let deadline = tokio::time::Instant::now() + PORT_WAIT;
    loop {
        match Relay::start(settings.clone()).await {
            Ok(relay) => return Ok(relay),
            Err(RelayError::Bind { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_relay_starts_again_on_the_port_it_had() {
        let data = tempfile::tempdir().unwrap();
        let first = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
            .await
            .unwrap();
        let addr = first.local_addr();
        first.shutdown(Duration::from_secs(1)).await;
        let again = start_relay_on(data.path(), addr).await.unwrap();
        assert_eq!(again.local_addr(), addr);
        again.shutdown(Duration::from_secs(1)).await;
    }
}
