//! An in-process MQTT broker (`rumqttd`) on a loopback port: the demo's default, so the
//! one-command demo sends its cameras over a real MQTT hop with nothing to install.
//!
//! `rumqttd` binds its listener itself and does not report the port, so a free port is found
//! first (bind `127.0.0.1:0`, release) and handed to it. Clients reconnect with back-off, so
//! they connect once it listens (no probe connection: `rumqttd` logs an aborted connect as an
//! error). It runs on its own threads until the process exits (`rumqttd` has no shutdown).

use super::mqtt::BrokerAddr;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};

/// A running embedded broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
}

impl EmbeddedBroker {
    /// Start a broker on `127.0.0.1:<free port>` (its threads start listening right away).
    pub fn start() -> Result<EmbeddedBroker, String> {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("embedded MQTT broker: no free loopback port: {e}"))?;
        let server = ServerSettings {
            name: "greenwave-v4".into(),
            listen: addr,
            tls: None,
            next_connection_delay_ms: 1,
            connections: ConnectionSettings {
                connection_timeout_ms: 60_000,
                max_payload_size: super::mqtt::CLIENT_MAX_PACKET_BYTES,
                max_inflight_count: 1000,
                auth: None,
                external_auth: None,
                dynamic_filters: true,
            },
        };
        let config = Config {
            id: 0,
            router: RouterConfig {
                max_connections: 1000,
                max_outgoing_packet_count: 1000,
                max_segment_size: 64 * 1024 * 1024,
                max_segment_count: 10,
                ..RouterConfig::default()
            },
            v4: Some(HashMap::from([("1".to_string(), server)])),
            ..Config::default()
        };
        let mut broker = Broker::new(config);
        std::thread::Builder::new()
            .name("mqtt-broker".into())
            .spawn(move || {
                if let Err(e) = broker.start() {
                    tracing::error!("embedded MQTT broker stopped: {e}");
                }
            })
            .map_err(|e| format!("embedded MQTT broker: {e}"))?;
        Ok(EmbeddedBroker { addr })
    }

    /// Where clients connect.
    pub fn addr(&self) -> BrokerAddr {
        BrokerAddr {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
        }
    }
}
