//! The field-controller emulator: tokio-modbus TCP servers in front of [`FieldUnit`]s. One
//! server per configured `host:port`; it serves every intersection configured on that port,
//! addressed by Modbus unit id.

use super::clock::{Clock, Ds};
use super::unit::{DetectorSource, FieldUnit, UnitError};
use crate::protocol::Endpoint;
use roadnet::{IntersectionId, RoadNet};
use std::collections::{BTreeMap, HashMap};
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_modbus::server::tcp::{accept_tcp_connection, Server};
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

/// A shared, lockable field unit.
pub type SharedUnit = Arc<Mutex<FieldUnit>>;

/// Lock a unit, recovering from a poisoned lock (a panic elsewhere must not stop the lamps).
pub fn lock(unit: &SharedUnit) -> MutexGuard<'_, FieldUnit> {
    unit.lock().unwrap_or_else(|e| e.into_inner())
}

/// All emulated field controllers of a network, sharing one clock.
pub struct FieldEmulator {
    clock: Arc<dyn Clock>,
    units: BTreeMap<IntersectionId, SharedUnit>,
    endpoints: BTreeMap<Endpoint, BTreeMap<u8, IntersectionId>>,
}

impl std::fmt::Debug for FieldEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldEmulator")
            .field("units", &self.units.keys().collect::<Vec<_>>())
            .field("endpoints", &self.endpoints.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why the emulator cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(transparent)]
    Unit(#[from] UnitError),
    #[error("{endpoint}: unit id {unit_id} is configured for both '{a}' and '{b}'")]
    DuplicateUnit {
        endpoint: Endpoint,
        unit_id: u8,
        a: String,
        b: String,
    },
    #[error("the network has no signalized intersection with a field controller")]
    Empty,
}

impl FieldEmulator {
    /// One field unit per signalized intersection with a controller; `source(id)` gives each
    /// its detector source.
    pub fn new(
        net: Arc<RoadNet>,
        clock: Arc<dyn Clock>,
        mut source: impl FnMut(IntersectionId) -> Box<dyn DetectorSource>,
    ) -> Result<FieldEmulator, EmulatorError> {
        let now = clock.now_ds();
        let mut units = BTreeMap::new();
        let mut endpoints: BTreeMap<Endpoint, BTreeMap<u8, IntersectionId>> = BTreeMap::new();
        for inter in net.signalized() {
            let Some(ep) = &inter.controller else {
                continue;
            };
            let key = Endpoint::from(ep);
            let on_port = endpoints.entry(key.clone()).or_default();
            if let Some(other) = on_port.get(&ep.unit_id) {
                return Err(EmulatorError::DuplicateUnit {
                    endpoint: key,
                    unit_id: ep.unit_id,
                    a: net.intersection(*other).name.clone(),
                    b: inter.name.clone(),
                });
            }
            on_port.insert(ep.unit_id, inter.id);
            let unit = FieldUnit::new(net.clone(), inter.id, now, source(inter.id))?;
            units.insert(inter.id, Arc::new(Mutex::new(unit)));
        }
        if units.is_empty() {
            return Err(EmulatorError::Empty);
        }
        Ok(FieldEmulator {
            clock,
            units,
            endpoints,
        })
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
    pub fn unit(&self, id: IntersectionId) -> Option<&SharedUnit> {
        self.units.get(&id)
    }
    pub fn units(&self) -> impl Iterator<Item = (&IntersectionId, &SharedUnit)> {
        self.units.iter()
    }
    /// The configured endpoints and the intersections each serves, by unit id.
    pub fn endpoints(&self) -> &BTreeMap<Endpoint, BTreeMap<u8, IntersectionId>> {
        &self.endpoints
    }

    /// Run every unit up to the clock's time.
    pub fn advance_all(&self) -> Ds {
        let now = self.clock.now_ds();
        for u in self.units.values() {
            lock(u).advance_to(now);
        }
        now
    }

    /// The Modbus service for one endpoint.
    pub fn service(&self, endpoint: &Endpoint) -> Option<UnitService> {
        let on_port = self.endpoints.get(endpoint)?;
        let units: HashMap<u8, SharedUnit> = on_port
            .iter()
            .map(|(uid, id)| (*uid, self.units[id].clone()))
            .collect();
        Some(UnitService {
            single: (units.len() == 1)
                .then(|| units.values().next().cloned())
                .flatten(),
            units: Arc::new(units),
            clock: self.clock.clone(),
        })
    }

    /// Bind every configured endpoint (`bind_override` may redirect one, e.g. to port 0 in
    /// tests) and return the bound listeners with their services.
    pub async fn bind_all(
        &self,
        mut bind_override: impl FnMut(&Endpoint) -> Option<SocketAddr>,
    ) -> std::io::Result<Vec<(Endpoint, TcpListener, UnitService)>> {
        let mut out = Vec::new();
        for ep in self.endpoints.keys() {
            let addr = match bind_override(ep) {
                Some(a) => a,
                None => ep.resolve().await?,
            };
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {addr} ({ep}): {e}"))
            })?;
            out.push((
                ep.clone(),
                listener,
                self.service(ep).expect("known endpoint"),
            ));
        }
        Ok(out)
    }

    /// Advance every unit with the clock, every `period` of real time, forever.
    pub async fn run_ticker(self: Arc<Self>, period: Duration) {
        let mut iv = tokio::time::interval(period);
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            iv.tick().await;
            self.advance_all();
        }
    }
}

/// Serve Modbus TCP on `listener` with `service` until the task is dropped.
pub async fn serve(listener: TcpListener, service: UnitService) -> std::io::Result<()> {
    let server = Server::new(listener);
    let on_connected = move |stream, addr| {
        let svc = service.clone();
        async move { accept_tcp_connection(stream, addr, move |_| Ok(Some(svc.clone()))) }
    };
    let on_error = |e| tracing::debug!("modbus connection ended: {e}");
    server.serve(&on_connected, on_error).await
}

/// The Modbus service of one endpoint: routes by unit id to its field units.
#[derive(Clone)]
pub struct UnitService {
    units: Arc<HashMap<u8, SharedUnit>>,
    /// When the endpoint serves exactly one unit, unit ids 0 and 255 also reach it.
    single: Option<SharedUnit>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for UnitService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<_> = self.units.keys().collect();
        ids.sort();
        f.debug_struct("UnitService")
            .field("unit_ids", &ids)
            .finish_non_exhaustive()
    }
}

impl UnitService {
    fn unit(&self, slave: u8) -> Option<&SharedUnit> {
        self.units.get(&slave).or(match slave {
            0 | 255 => self.single.as_ref(),
            _ => None,
        })
    }

    /// Answer one request (synchronously; the unit is first brought up to the clock's time).
    /// Never panics on any frame: bad addresses, lengths or values are Modbus exceptions.
    pub fn handle(&self, req: SlaveRequest<'_>) -> Result<Response, ExceptionCode> {
        let unit = self
            .unit(req.slave)
            .ok_or(ExceptionCode::GatewayTargetDevice)?;
        let mut u = lock(unit);
        u.advance_to(self.clock.now_ds());
        match req.request {
            Request::ReadHoldingRegisters(a, n) => {
                u.read_holding(a, n).map(Response::ReadHoldingRegisters)
            }
            Request::ReadInputRegisters(a, n) => {
                u.read_input(a, n).map(Response::ReadInputRegisters)
            }
            Request::WriteSingleRegister(a, v) => u
                .write_holding(a, &[v])
                .map(|()| Response::WriteSingleRegister(a, v)),
            Request::WriteMultipleRegisters(a, vs) => u
                .write_holding(a, &vs)
                .map(|()| Response::WriteMultipleRegisters(a, vs.len() as u16)),
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

impl tokio_modbus::server::Service for UnitService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        ready(self.handle(req))
    }
}
