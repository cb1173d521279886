//! What guest code may spend ([`Budget`]: fuel or CPU time, and a
//! deadline, per call or instantiation), and what calls may ask for
//! ([`Ceilings`]), which the errors of a stopped call name so that they say
//! what to change.

/// What guest code may spend: the fuel or CPU time, and the wall-clock
/// deadline, of one call or instantiation.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Fuel given (`None`: not metered by fuel).
    pub fuel: Option<u64>,
    /// Wall-clock deadline in ms (`None`: none, only in unrestricted mode).
    pub deadline_ms: Option<u64>,
    /// CPU time given, in ms (`None`: not metered by CPU time).
    pub cpu_ms: Option<u64>,
}

/// What a call may ask for, named in the errors of a call that used up its
/// budget (so they say what to change).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ceilings {
    /// The fuel a call gets when it asks for none (`--fuel`; `None`: not metered).
    pub fuel: Option<u64>,
    /// The most fuel a call may ask for (`--max-fuel`).
    pub max_fuel: Option<u64>,
    /// The longest deadline a call may ask for, in ms (`--max-deadline-ms`;
    /// `None`: no ceiling).
    pub max_deadline_ms: Option<u64>,
    /// The CPU time a call gets when it asks for none, in ms (`--cpu-ms`;
    /// `None`: not metered by CPU time).
    pub cpu_ms: Option<u64>,
    /// The most CPU time a call may ask for, in ms (`--max-cpu-ms`).
    pub max_cpu_ms: Option<u64>,
}

impl Ceilings {
    /// Why a guest given `given` fuel stopped, and how to give it more.
    pub fn out_of_fuel(&self, given: Option<u64>) -> String {
        let Some(fuel) = given else {
            return "the guest ran out of fuel".to_string();
        };
        let mut message = format!("the guest used all {fuel} units of fuel it was given");
        if let Some(max) = self.max_fuel {
            if fuel < max {
                message.push_str(&format!(
                    "; a call may ask for up to {max} with `--fuel N` (the library's \
                     `Eval::fuel`; the server's ceiling is `sandcall-server --max-fuel`)"
                ));
            } else {
                message.push_str(&format!(
                    "; that is the most a call may have here (`sandcall-server --max-fuel {max}`)"
                ));
            }
        }
        // Instantiation (a start function) runs on the default.
        if self.fuel == Some(fuel) {
            message.push_str(&format!(
                "; a start function gets the default, `sandcall-server --fuel {fuel}`"
            ));
        }
        message
    }

    /// Why a guest given `given_ms` of CPU time was stopped, having used
    /// `used_ns`, and how to give it more.
    pub fn out_of_cpu(&self, given_ms: u64, used_ns: u64) -> String {
        let mut message = format!(
            "the guest used {:.1} ms of CPU time, past the {given_ms} ms it was given, and \
             was stopped",
            used_ns as f64 / 1e6
        );
        if let Some(max) = self.max_cpu_ms {
            if given_ms < max {
                message.push_str(&format!(
                    "; a call may ask for up to {max} ms with `--cpu-ms N` (the library's \
                     `Eval::cpu_ms`; the server's ceiling is `sandcall-server --max-cpu-ms`)"
                ));
            } else {
                message.push_str(&format!(
                    "; that is the most a call may have here (`sandcall-server --max-cpu-ms \
                     {max}`)"
                ));
            }
        }
        if self.cpu_ms == Some(given_ms) {
            message.push_str(&format!(
                "; a start function gets the default, `sandcall-server --cpu-ms {given_ms}`"
            ));
        }
        message
    }

    /// Why a guest with a deadline of `ms` was stopped, and how to give it
    /// longer.
    pub fn past_deadline(&self, ms: u64) -> String {
        let mut message = format!("the guest ran past its deadline of {ms} ms and was stopped");
        match self.max_deadline_ms {
            Some(max) if ms < max => message.push_str(&format!(
                "; a call may ask for up to {max} ms with `--deadline-ms N` (the library's \
                 `Eval::deadline_ms`; the server's ceiling is `sandcall-server \
                 --max-deadline-ms`)"
            )),
            Some(max) => message.push_str(&format!(
                "; that is the longest a call may have here (`sandcall-server \
                 --max-deadline-ms {max}`)"
            )),
            None => message.push_str(
                "; ask for a longer one with `--deadline-ms N` (the library's `Eval::deadline_ms`)",
            ),
        }
        message
    }
}
