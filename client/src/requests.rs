//! One typed method per request on [`Connection`]: `info`, `execute`,
//! `eval`, `namespace`, globals, memory, `register` … Each sends one
//! request through [`Connection::request`] and unpacks its answer.

use crate::connection::Connection;
use crate::error::ClientError;
use sandcall_protocol::{
    Eval, EvalResult, Execute, InstanceInfo, MemoryRead, MemoryWrite, Request, Response,
    ServerInfo, Value,
};

impl Connection {
    /// Server version, mode, limits and features.
    ///
    /// # Errors
    /// A connection failure.
    pub async fn info(&mut self) -> Result<ServerInfo, ClientError> {
        match self.request(&Request::Info).await? {
            Response::Info(info) => Ok(info),
            other => Err(unexpected(other)),
        }
    }

    /// Upload `module` (wasm binary or WAT text) and instantiate it as `name`.
    ///
    /// # Errors
    /// Name taken, invalid module, link error, a trapping start function, limits.
    pub async fn execute(
        &mut self,
        name: &str,
        module: impl Into<Vec<u8>>,
    ) -> Result<InstanceInfo, ClientError> {
        self.execute_with(name, module, false).await
    }

    /// Like [`Connection::execute`], replacing an instance of the same name
    /// when `replace` is set.
    ///
    /// # Errors
    /// As [`Connection::execute`].
    pub async fn execute_with(
        &mut self,
        name: &str,
        module: impl Into<Vec<u8>>,
        replace: bool,
    ) -> Result<InstanceInfo, ClientError> {
        let request = Request::Execute(Execute {
            name: name.to_string(),
            module: module.into(),
            replace,
        });
        match self.request(&request).await? {
            Response::Executed(info) => {
                self.remember(request);
                Ok(info)
            }
            other => Err(unexpected(other)),
        }
    }

    /// Call `export` of instance `name` with the server's default budget.
    ///
    /// # Errors
    /// Unknown name or export, wrong arguments, traps, fuel and deadline.
    pub async fn eval(
        &mut self,
        name: &str,
        export: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, ClientError> {
        Ok(self.call(name, export, args.to_vec()).await?.results)
    }

    /// Like [`Connection::eval`], taking the arguments by value (a large
    /// [`Value::Packed`] list is not copied) and answering with the fuel used
    /// and the time spent inside the guest. A component function takes one
    /// value per WIT parameter and answers with zero or one value.
    ///
    /// ```no_run
    /// # async fn demo(conn: &mut sandcall::Connection) -> Result<(), sandcall::ClientError> {
    /// use sandcall::Value;
    /// let data: Vec<i32> = vec![5, 3, 9, 1];
    /// let answer = conn.call("sorter", "quick-sort", vec![Value::list_of(&data)]).await?;
    /// let sorted = answer.results.first().and_then(|v| v.to_numbers::<i32>());
    /// assert_eq!(sorted, Some(vec![1, 3, 5, 9]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Connection::eval`].
    pub async fn call(
        &mut self,
        name: &str,
        export: &str,
        args: Vec<Value>,
    ) -> Result<EvalResult, ClientError> {
        self.eval_with(Eval {
            name: name.to_string(),
            export: export.to_string(),
            args,
            fuel: None,
            deadline_ms: None,
            cpu_ms: None,
        })
        .await
    }

    /// Call with everything spelled out; the answer includes the fuel used
    /// and the time spent inside the guest.
    ///
    /// # Errors
    /// As [`Connection::eval`], plus a budget above the server's maximum.
    pub async fn eval_with(&mut self, eval: Eval) -> Result<EvalResult, ClientError> {
        match self.request(&Request::Eval(eval)).await? {
            Response::Evaluated(result) => Ok(result),
            other => Err(unexpected(other)),
        }
    }

    /// Every instance of this session, with exports and costs.
    ///
    /// # Errors
    /// A connection failure.
    pub async fn namespace(&mut self) -> Result<Vec<InstanceInfo>, ClientError> {
        match self.request(&Request::Namespace).await? {
            Response::Namespace(list) => Ok(list),
            other => Err(unexpected(other)),
        }
    }

    /// Instantiate `name` afresh from its compiled module or component:
    /// memories, globals and tables start over, and so does the fuel count.
    /// The way back for a component instance that trapped
    /// ([`ErrorKind::Poisoned`](sandcall_protocol::ErrorKind::Poisoned)).
    ///
    /// # Errors
    /// Unknown name, a trapping start function, limits.
    pub async fn reset(&mut self, name: &str) -> Result<InstanceInfo, ClientError> {
        let request = Request::Reset {
            name: name.to_string(),
        };
        match self.request(&request).await? {
            Response::Reset(info) => Ok(info),
            other => Err(unexpected(other)),
        }
    }

    /// Drop instance `name` (and its registrations).
    ///
    /// # Errors
    /// Unknown name.
    pub async fn drop_instance(&mut self, name: &str) -> Result<(), ClientError> {
        let request = Request::Drop {
            name: name.to_string(),
        };
        expect_unit(self.request(&request).await?, |r| {
            matches!(r, Response::Dropped)
        })?;
        self.remember(request);
        Ok(())
    }

    /// The value of a global.
    ///
    /// # Errors
    /// Unknown instance or global.
    pub async fn get_global(&mut self, name: &str, global: &str) -> Result<Value, ClientError> {
        let request = Request::GetGlobal {
            name: name.to_string(),
            global: global.to_string(),
        };
        match self.request(&request).await? {
            Response::Global(value) => Ok(value),
            other => Err(unexpected(other)),
        }
    }

    /// Set a mutable global.
    ///
    /// # Errors
    /// Unknown instance or global, immutable global, wrong type.
    pub async fn set_global(
        &mut self,
        name: &str,
        global: &str,
        value: Value,
    ) -> Result<(), ClientError> {
        let request = Request::SetGlobal {
            name: name.to_string(),
            global: global.to_string(),
            value,
        };
        expect_unit(self.request(&request).await?, |r| {
            matches!(r, Response::GlobalSet)
        })
    }

    /// Read `len` bytes at `offset` of instance `name`'s memory (`None`: its
    /// first exported memory).
    ///
    /// # Errors
    /// Unknown instance or memory, a range outside the memory.
    pub async fn read_memory(
        &mut self,
        name: &str,
        memory: Option<&str>,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, ClientError> {
        let request = Request::ReadMemory(MemoryRead {
            name: name.to_string(),
            memory: memory.map(str::to_string),
            offset,
            len,
        });
        match self.request(&request).await? {
            Response::Memory(bytes) => Ok(bytes),
            other => Err(unexpected(other)),
        }
    }

    /// Write `bytes` at `offset` of instance `name`'s memory.
    ///
    /// # Errors
    /// Unknown instance or memory, a range outside the memory.
    pub async fn write_memory(
        &mut self,
        name: &str,
        memory: Option<&str>,
        offset: u64,
        bytes: impl Into<Vec<u8>>,
    ) -> Result<(), ClientError> {
        let request = Request::WriteMemory(MemoryWrite {
            name: name.to_string(),
            memory: memory.map(str::to_string),
            offset,
            bytes: bytes.into(),
        });
        expect_unit(self.request(&request).await?, |r| {
            matches!(r, Response::MemoryWritten)
        })
    }

    /// Let later uploads import instance `name`'s exports as module `as_name`.
    ///
    /// # Errors
    /// Unknown instance.
    pub async fn register(&mut self, name: &str, as_name: &str) -> Result<(), ClientError> {
        let request = Request::Register {
            name: name.to_string(),
            as_name: as_name.to_string(),
        };
        expect_unit(self.request(&request).await?, |r| {
            matches!(r, Response::Registered)
        })?;
        self.remember(request);
        Ok(())
    }

    /// Compile and validate `module` without instantiating it; returns its hash.
    ///
    /// # Errors
    /// Invalid module, size limit.
    pub async fn validate(&mut self, module: impl Into<Vec<u8>>) -> Result<String, ClientError> {
        let request = Request::Validate {
            module: module.into(),
        };
        match self.request(&request).await? {
            Response::Valid { module_hash } => Ok(module_hash),
            other => Err(unexpected(other)),
        }
    }
}

fn unexpected(response: Response) -> ClientError {
    ClientError::Protocol(format!("unexpected answer {response:?}"))
}

fn expect_unit(response: Response, ok: impl Fn(&Response) -> bool) -> Result<(), ClientError> {
    if ok(&response) {
        Ok(())
    } else {
        Err(unexpected(response))
    }
}
