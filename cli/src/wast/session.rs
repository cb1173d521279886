//! Running: the planned steps of one script, one request each, on a session.

use super::expect::{show_error, show_expected, show_values, trap_matches};
use super::plan::{Action, Step, StepKind, Verdict};
use super::suites::{Spec, superseded_by_v3};
use super::{Report, SPECTEST};
use sandcall::ClientError;
use sandcall::Connection;
use sandcall_protocol::{ErrorKind, RemoteError, Value};
use std::collections::{HashMap, HashSet};

/// A failure, or the connection was lost and the script cannot go on.
enum Stop {
    Fail(String),
    Lost(ClientError),
}

/// The server's refusal as a value; a broken connection stops the script.
fn answer<T>(result: Result<T, ClientError>) -> Result<Result<T, RemoteError>, Stop> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(ClientError::Remote(e)) => Ok(Err(e)),
        Err(other) => Err(Stop::Lost(other)),
    }
}

/// One script's session: the names given to its instances so far.
///
/// An instance no later directive can name (not current, no `$id`, never
/// registered) is dropped, so that long scripts stay within the server's
/// per-session instance limit.
pub(super) struct Session<'c> {
    conn: &'c mut Connection,
    file: String,
    /// The spec version the script checks.
    spec: Spec,
    uploads: usize,
    current: Option<String>,
    /// `$id` → instance name.
    named: HashMap<String, String>,
    registered: HashSet<String>,
    /// `module definition` bytes by `$id`, and the latest one.
    definitions: HashMap<String, Vec<u8>>,
    last_definition: Option<Vec<u8>>,
}

impl<'c> Session<'c> {
    pub(super) fn new(conn: &'c mut Connection, file: String, spec: Spec) -> Self {
        Session {
            conn,
            file,
            spec,
            uploads: 0,
            current: None,
            named: HashMap::new(),
            registered: HashSet::new(),
            definitions: HashMap::new(),
            last_definition: None,
        }
    }

    pub(super) async fn run(mut self, steps: Vec<Step>) -> Report {
        let mut report = Report::default();
        if let Err(stop) = self.spectest().await {
            let why = match stop {
                Stop::Fail(why) => why,
                Stop::Lost(e) => e.to_string(),
            };
            report.fail(format!(
                "{}: expected the spectest module to load, got {why}",
                self.file
            ));
        }
        let total = steps.len();
        for (done, step) in steps.into_iter().enumerate() {
            match self.step(step.kind).await {
                Ok(Verdict::Pass) => report.passed += 1,
                Ok(Verdict::Fail(why)) | Err(Stop::Fail(why)) => {
                    report.fail(format!("{}:{}: expected {why}", self.file, step.line));
                }
                Ok(Verdict::Superseded(why)) => {
                    report.superseded += 1;
                    report
                        .supersessions
                        .push(format!("{}:{}: superseded: {why}", self.file, step.line));
                }
                Ok(Verdict::Skip(why)) => {
                    report.skipped += 1;
                    report
                        .skips
                        .push(format!("{}:{}: skipped: {why}", self.file, step.line));
                }
                Err(Stop::Lost(e)) => {
                    let rest = total - done - 1;
                    report.fail(format!(
                        "{}:{}: expected an answer, got {e} ({rest} later directives not run, counted as failed)",
                        self.file, step.line
                    ));
                    report.failed += rest;
                    break;
                }
            }
        }
        report
    }

    async fn spectest(&mut self) -> Result<(), Stop> {
        let bytes = wat::parse_str(SPECTEST).map_err(|e| Stop::Fail(e.to_string()))?;
        answer(self.conn.execute_with("spectest", bytes, true).await)?
            .map_err(|e| Stop::Fail(show_error(&e)))?;
        answer(self.conn.register("spectest", "spectest").await)?
            .map_err(|e| Stop::Fail(show_error(&e)))
    }

    async fn step(&mut self, kind: StepKind) -> Result<Verdict, Stop> {
        Ok(match kind {
            StepKind::Module { id, bytes } => {
                self.instantiate(id, bytes).await?;
                Verdict::Pass
            }
            StepKind::Definition { id, bytes } => {
                if let Err(e) = answer(self.conn.validate(bytes.clone()).await)? {
                    return Err(Stop::Fail(format!(
                        "the module to validate, got {}",
                        show_error(&e)
                    )));
                }
                if let Some(id) = id {
                    self.definitions.insert(id, bytes.clone());
                }
                self.last_definition = Some(bytes);
                Verdict::Pass
            }
            StepKind::Instance { id, definition } => {
                let bytes = match &definition {
                    Some(d) => self.definitions.get(d),
                    None => self.last_definition.as_ref(),
                };
                let Some(bytes) = bytes.cloned() else {
                    return Err(Stop::Fail(format!(
                        "a module definition {}, got none",
                        definition.unwrap_or_default()
                    )));
                };
                self.instantiate(id, bytes).await?;
                Verdict::Pass
            }
            StepKind::Register { as_name, module } => {
                let name = self.instance(module.as_deref())?;
                match answer(self.conn.register(&name, &as_name).await)? {
                    Ok(()) => {
                        self.registered.insert(name);
                        Verdict::Pass
                    }
                    Err(e) => Verdict::Fail(format!(
                        "`{name}` to register as \"{as_name}\", got {}",
                        show_error(&e)
                    )),
                }
            }
            StepKind::Do(action) => match self.act(action).await? {
                Ok(_) => Verdict::Pass,
                Err(e) => Verdict::Fail(format!("the action to succeed, got {}", show_error(&e))),
            },
            StepKind::Return(action, expected) => {
                let got = self.act(action).await?;
                let shown = || show_expected(&expected);
                match got {
                    Ok(values)
                        if values.len() == expected.len()
                            && expected.iter().zip(&values).all(|(e, v)| e.matches(v)) =>
                    {
                        Verdict::Pass
                    }
                    Ok(values) => {
                        Verdict::Fail(format!("{}, got {}", shown(), show_values(&values)))
                    }
                    Err(e) => Verdict::Fail(format!("{}, got {}", shown(), show_error(&e))),
                }
            }
            StepKind::Trap(action, message) => {
                trap_verdict(self.act(action).await?, &message, None)
            }
            StepKind::Exhaustion(action, message) => {
                trap_verdict(self.act(action).await?, &message, Some("stack_overflow"))
            }
            StepKind::Refused(bytes, kind, message) => {
                let name = self.fresh_name(None);
                match answer(self.conn.execute(&name, bytes.clone()).await)? {
                    Err(e) if e.kind == kind => Verdict::Pass,
                    // Valid under 3.0, then refused for another reason
                    // (an import nobody provides): superseded too.
                    Err(e) => match self.superseded(kind, &bytes) {
                        Some(why) => Verdict::Superseded(why),
                        None => Verdict::Fail(format!(
                            "the upload refused as {kind} (\"{message}\"), got {}",
                            show_error(&e)
                        )),
                    },
                    Ok(_) => {
                        self.retire(name).await?;
                        if let Some(why) = self.superseded(kind, &bytes) {
                            return Ok(Verdict::Superseded(why));
                        }
                        Verdict::Fail(format!(
                            "the upload refused as {kind} (\"{message}\"), got it instantiated"
                        ))
                    }
                }
            }
            StepKind::Done(verdict) => verdict,
        })
    }

    /// Why the refusal a 2.0 script expects no longer holds under 3.0, if
    /// that is so (see [`superseded_by_v3`]).
    fn superseded(&self, kind: ErrorKind, bytes: &[u8]) -> Option<String> {
        (self.spec == Spec::V2 && kind == ErrorKind::InvalidModule)
            .then(|| superseded_by_v3(bytes))
            .flatten()
    }

    fn fresh_name(&mut self, id: Option<&str>) -> String {
        self.uploads += 1;
        match id {
            Some(id) => format!("wast{}-{id}", self.uploads),
            None => format!("wast{}", self.uploads),
        }
    }

    /// Upload and instantiate; on success it becomes the current instance.
    async fn instantiate(&mut self, id: Option<String>, bytes: Vec<u8>) -> Result<(), Stop> {
        let name = self.fresh_name(id.as_deref());
        if let Err(e) = answer(self.conn.execute(&name, bytes).await)? {
            return Err(Stop::Fail(format!(
                "the module to instantiate, got {}",
                show_error(&e)
            )));
        }
        if let Some(id) = id {
            self.named.insert(id, name.clone());
        }
        if let Some(old) = self.current.replace(name) {
            let nameable = self.registered.contains(&old) || self.named.values().any(|n| *n == old);
            if !nameable {
                self.retire(old).await?;
            }
        }
        Ok(())
    }

    /// Drop an instance nothing can name any more. A refusal is ignored: the
    /// instance only costs a slot.
    async fn retire(&mut self, name: String) -> Result<(), Stop> {
        answer(self.conn.drop_instance(&name).await)?.ok();
        Ok(())
    }

    /// The instance `$id` names, or the current one.
    fn instance(&self, id: Option<&str>) -> Result<String, Stop> {
        match id {
            Some(id) => self
                .named
                .get(id)
                .cloned()
                .ok_or_else(|| Stop::Fail(format!("a module named ${id}, got none"))),
            None => self
                .current
                .clone()
                .ok_or_else(|| Stop::Fail("a module before the action, got none".into())),
        }
    }

    /// Run an action: its results, or the server's refusal.
    async fn act(&mut self, action: Action) -> Result<Result<Vec<Value>, RemoteError>, Stop> {
        match action {
            Action::Invoke {
                module,
                export,
                args,
            } => {
                let name = self.instance(module.as_deref())?;
                answer(self.conn.eval(&name, &export, &args).await)
            }
            Action::Get { module, global } => {
                let name = self.instance(module.as_deref())?;
                Ok(answer(self.conn.get_global(&name, &global).await)?.map(|v| vec![v]))
            }
            Action::Instantiate(bytes) => {
                let name = self.fresh_name(None);
                let got = answer(self.conn.execute(&name, bytes).await)?;
                if got.is_ok() {
                    self.retire(name).await?;
                }
                Ok(got.map(|_| Vec::new()))
            }
        }
    }
}

/// The verdict on an action that must trap with `message` (and, for
/// exhaustion, with exactly `code`).
fn trap_verdict(
    got: Result<Vec<Value>, RemoteError>,
    message: &str,
    code: Option<&str>,
) -> Verdict {
    let wanted = format!("trap \"{message}\"");
    match got {
        Err(e) if e.kind == ErrorKind::Trap => {
            let trap = e.trap.as_deref().unwrap_or_default();
            if code.is_none_or(|c| c == trap) && trap_matches(trap, message) {
                Verdict::Pass
            } else {
                Verdict::Fail(format!("{wanted}, got {}", show_error(&e)))
            }
        }
        Err(e) => Verdict::Fail(format!("{wanted}, got {}", show_error(&e))),
        Ok(values) => Verdict::Fail(format!("{wanted}, got {}", show_values(&values))),
    }
}
