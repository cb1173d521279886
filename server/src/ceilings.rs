//! A tenant's ceilings applied to its session's requests: fuel or CPU time,
//! and deadline, per call, module size and the fuel budget, checked before the session
//! sees a request; memory per instance and instances held, lowered in the
//! session itself; and the limits `info` reports lowered to match.

use crate::session::Session;
use crate::tenants::{ConnectionGuard, Tenant};
use sandcall_protocol::{ErrorKind, Limits, RemoteError, Request, Response};
use std::sync::Arc;

/// What one ns of a guest's CPU time costs in a tenant's fuel budget
/// (`fuel_per_minute`): about the wasm instructions a core runs in it.
pub const FUEL_PER_CPU_NS: u64 = 1;

/// The tenant of a session (none on a server without `--tenants`).
pub struct Ceilings {
    tenant: Option<Arc<Tenant>>,
    _connection: Option<ConnectionGuard>,
}

impl Ceilings {
    /// No tenant: the server's own limits only.
    pub fn none() -> Self {
        Ceilings {
            tenant: None,
            _connection: None,
        }
    }

    /// `tenant`'s ceilings, holding one of its connections.
    pub fn of(tenant: Arc<Tenant>, connection: ConnectionGuard) -> Self {
        Ceilings {
            tenant: Some(tenant),
            _connection: Some(connection),
        }
    }

    /// The tenant's name, for the logs.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_ref().map(|t| t.entry.name.as_str())
    }

    /// Refuse what exceeds a ceiling or the budget; lower a default that
    /// exceeds one (a call that asks for nothing gets the tenant's ceiling).
    ///
    /// # Errors
    /// `resource-limit` naming the ceiling, or `quota-exceeded` with the
    /// seconds until the budget refills.
    pub fn admit(&self, request: &mut Request, limits: &Limits) -> Result<(), RemoteError> {
        let Some(tenant) = &self.tenant else {
            return Ok(());
        };
        let entry = &tenant.entry;
        let over = |what: &str, asked: u64, ceiling: u64| {
            RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "{what} of {asked} exceeds tenant {:?}'s ceiling of {ceiling}",
                    entry.name
                ),
            )
        };
        match request {
            Request::Eval(eval) => {
                if let Err(seconds) = tenant.budget.check() {
                    return Err(RemoteError::new(
                        ErrorKind::QuotaExceeded,
                        format!(
                            "tenant {:?} used its fuel budget of {} per minute; it refills in \
                             {seconds} s",
                            entry.name,
                            tenant.budget.per_period().unwrap_or(0)
                        ),
                    ));
                }
                // Each default is lowered only where it applies: fuel in a
                // session metered by fuel, CPU time in one metered by CPU.
                let fuel_ceiling = entry.max_fuel.filter(|_| limits.max_fuel.is_some());
                clamp(&mut eval.fuel, limits.default_fuel, fuel_ceiling)
                    .map_err(|(asked, max)| over("fuel", asked, max))?;
                let cpu_ceiling = entry.max_cpu_ms.filter(|_| limits.max_cpu_ms.is_some());
                clamp(&mut eval.cpu_ms, limits.default_cpu_ms, cpu_ceiling)
                    .map_err(|(asked, max)| over("CPU time (ms)", asked, max))?;
                clamp(
                    &mut eval.deadline_ms,
                    limits.default_deadline_ms,
                    entry.max_deadline_ms,
                )
                .map_err(|(asked, max)| over("deadline (ms)", asked, max))?;
            }
            Request::Execute(execute) => module_size(&execute.module, entry.module_bytes)
                .map_err(|(asked, max)| over("module size", asked, max))?,
            Request::Validate { module } => module_size(module, entry.module_bytes)
                .map_err(|(asked, max)| over("module size", asked, max))?,
            _ => {}
        }
        Ok(())
    }

    /// Count the fuel a call used against the budget: what it reports, or
    /// all it was `given` when it ran out of fuel or time. CPU time counts
    /// as fuel at [`FUEL_PER_CPU_NS`].
    pub fn charge(&self, reply: &Result<Response, RemoteError>, given: u64) {
        let Some(tenant) = &self.tenant else {
            return;
        };
        match reply {
            Ok(Response::Evaluated(result)) => tenant.budget.charge(
                result
                    .fuel_used
                    .saturating_add(result.cpu_ns.saturating_mul(FUEL_PER_CPU_NS)),
            ),
            // A cancelled call is charged in full too, or cancelling just
            // before the end would run guests off the budget.
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::OutOfFuel
                        | ErrorKind::CpuTimeExceeded
                        | ErrorKind::DeadlineExceeded
                        | ErrorKind::Cancelled
                ) =>
            {
                tenant.budget.charge(given)
            }
            _ => {}
        }
    }

    /// The advice of a call stopped for fuel or CPU time, in the tenant's
    /// ceiling instead of the server's: the call was given `asked` (fuel,
    /// CPU ms), and the tenant may have less than the server allows.
    fn retell(&self, e: &mut RemoteError, (fuel, cpu_ms): (Option<u64>, Option<u64>)) {
        let Some(tenant) = &self.tenant else {
            return;
        };
        let entry = &tenant.entry;
        let (ceiling, given, unit, key) = match e.kind {
            ErrorKind::CpuTimeExceeded => (entry.max_cpu_ms, cpu_ms, " ms", "max_cpu_ms"),
            ErrorKind::OutOfFuel => (entry.max_fuel, fuel, "", "max_fuel"),
            _ => return,
        };
        let (Some(ceiling), Some(given)) = (ceiling, given) else {
            return;
        };
        let what = e.message.split("; ").next().unwrap_or_default().to_string();
        e.message = if given < ceiling {
            format!(
                "{what}; tenant {:?} may ask for up to {ceiling}{unit} per call (`{key}` in \
                 the tenants file)",
                entry.name
            )
        } else {
            format!(
                "{what}; that is the most tenant {:?}'s calls may have (`{key} = {ceiling}` in \
                 the tenants file)",
                entry.name
            )
        };
    }

    /// Lower `session`'s memory per instance and instances held to the
    /// tenant's ceilings (at the start of the session).
    pub fn lower(&self, session: &mut Session) {
        if let Some(tenant) = &self.tenant {
            let entry = &tenant.entry;
            let whose = format!("tenant {:?}'s memory_bytes ceiling", entry.name);
            session.lower(entry.memory_bytes, entry.instances, &whose);
        }
    }

    /// `limits` lowered to the tenant's ceilings: the limits in force.
    pub fn report(&self, limits: &mut Limits) {
        let Some(tenant) = &self.tenant else {
            return;
        };
        let entry = &tenant.entry;
        let lower = |value: &mut Option<u64>, ceiling: Option<u64>| {
            if let (Some(v), Some(c)) = (value.as_mut(), ceiling) {
                *v = (*v).min(c);
            }
        };
        lower(&mut limits.max_fuel, entry.max_fuel);
        lower(&mut limits.default_fuel, entry.max_fuel);
        lower(&mut limits.max_cpu_ms, entry.max_cpu_ms);
        lower(&mut limits.default_cpu_ms, entry.max_cpu_ms);
        lower(&mut limits.max_deadline_ms, entry.max_deadline_ms);
        lower(&mut limits.default_deadline_ms, entry.max_deadline_ms);
        if let Some(c) = entry.module_bytes {
            limits.module_bytes = limits.module_bytes.min(c);
        }
        if let Some(c) = entry.memory_bytes {
            limits.memory_bytes = Some(limits.memory_bytes.map_or(c, |m| m.min(c)));
        }
        if let Some(c) = entry.instances {
            limits.instances_per_connection = limits.instances_per_connection.min(c);
        }
        if let Some(c) = entry.connections {
            limits.connections = limits.connections.min(c);
        }
    }
}

/// Refuse an asked value over `ceiling`; lower a missing one whose default
/// is over it. `Err((asked, ceiling))`.
fn clamp(
    asked: &mut Option<u64>,
    default: Option<u64>,
    ceiling: Option<u64>,
) -> Result<(), (u64, u64)> {
    let Some(ceiling) = ceiling else {
        return Ok(());
    };
    match *asked {
        Some(value) if value > ceiling => Err((value, ceiling)),
        Some(_) => Ok(()),
        None => {
            if default.is_none_or(|d| d > ceiling) {
                *asked = Some(ceiling);
            }
            Ok(())
        }
    }
}

fn module_size(module: &[u8], ceiling: Option<u64>) -> Result<(), (u64, u64)> {
    match ceiling {
        Some(max) if module.len() as u64 > max => Err((module.len() as u64, max)),
        _ => Ok(()),
    }
}

impl Ceilings {
    /// `request` through `session`, within the tenant's ceilings and budget.
    ///
    /// # Errors
    /// As [`Ceilings::admit`] and [`Session::handle`].
    pub async fn handle(
        &self,
        session: &mut Session,
        mut request: Request,
    ) -> Result<Response, RemoteError> {
        let mut given = 0;
        let mut asked = (None, None);
        if self.tenant.is_some() {
            let limits = session.info().limits;
            self.admit(&mut request, &limits)?;
            if let Request::Eval(eval) = &request {
                let cpu_ms = eval.cpu_ms.or(limits.default_cpu_ms).unwrap_or(0);
                given = match eval.fuel.or(limits.default_fuel) {
                    Some(fuel) => fuel,
                    None => cpu_ms.saturating_mul(1_000_000 * FUEL_PER_CPU_NS),
                };
                asked = (eval.fuel.or(limits.default_fuel), Some(cpu_ms));
            }
        }
        let mut reply = session.handle(request).await;
        self.charge(&reply, given);
        if let Err(e) = &mut reply {
            self.retell(e, asked);
        }
        if let Ok(Response::Info(info)) = &mut reply {
            self.report(&mut info.limits);
        }
        reply
    }
}
