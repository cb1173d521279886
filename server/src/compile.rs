//! What an upload may cost to compile, checked before compiling: functions,
//! operators per function and per module, memories and tables, counted with
//! wasmparser (a few ms per MB, against seconds for cranelift).
//!
//! What costs cranelift time, with fuel metering and epoch checks compiled
//! in, is control flow, and it grows faster than linearly with the blocks
//! of one function: 16,000 `(block (drop (local.get 0)))` in one function
//! took 3.5 s of CPU, 8,000 took 0.7 s. Measured per construct in functions
//! of 2,000 (`server/tests/resources.rs`, `measure_compile_shapes`): a loop
//! ~150 µs, a block ~65 µs, a branch ~30 µs, an `if` ~29 µs, a call ~12 µs,
//! any other operator ~0.3 µs. So two things are counted: operators, and
//! *blocks* (block, if, else, branches, calls and try; a loop counts 5),
//! each per function and per module. No CPU bound can be put on cranelift
//! from the outside; the default caps keep the worst shapes measured under
//! 2 s of CPU.

use sandcall_protocol::{ErrorKind, RemoteError};
use wasmparser::{Operator, Parser, Payload};

/// What one upload may define, counted before compiling (`None`: no cap).
#[derive(Clone, Copy, Debug)]
pub struct CompileBounds {
    pub functions: Option<u64>,
    pub function_operators: u64,
    pub module_operators: u64,
    pub function_blocks: u64,
    pub module_blocks: u64,
    pub memories: Option<u64>,
    pub tables: Option<u64>,
    /// Largest WAT text parsed, in bytes.
    pub wat_bytes: u64,
}

/// The default caps, measured to keep the compile of any upload within
/// about 2 s of server CPU (see the module docs).
pub const COMPILE_BOUNDS: CompileBounds = CompileBounds {
    functions: Some(10_000),
    function_operators: 100_000,
    module_operators: 4_000_000,
    function_blocks: 5_000,
    module_blocks: 20_000,
    memories: Some(8),
    tables: Some(32),
    wat_bytes: 256 << 10,
};

/// What an upload defines, summed over every core module inside it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub functions: u64,
    pub operators: u64,
    pub blocks: u64,
    pub memories: u64,
    pub tables: u64,
}

impl CompileBounds {
    /// Refuse `binary` (a module or component) if it exceeds a bound; stops
    /// counting at the first function over its cap.
    ///
    /// # Errors
    /// [`ErrorKind::ResourceLimit`] naming the bound and its flag;
    /// [`ErrorKind::InvalidModule`] when the binary does not parse.
    pub fn check(&self, binary: &[u8]) -> Result<Counts, RemoteError> {
        let invalid = |e: wasmparser::BinaryReaderError| {
            RemoteError::new(ErrorKind::InvalidModule, e.to_string())
        };
        let mut counts = Counts::default();
        for payload in Parser::new(0).parse_all(binary) {
            match payload.map_err(invalid)? {
                Payload::FunctionSection(s) => counts.functions += u64::from(s.count()),
                // Each lifts or lowers through trampolines that are compiled
                // like functions, and cost about two.
                Payload::ComponentCanonicalSection(s) => {
                    counts.functions += 2 * u64::from(s.count());
                }
                Payload::MemorySection(s) => counts.memories += u64::from(s.count()),
                Payload::TableSection(s) => counts.tables += u64::from(s.count()),
                Payload::CodeSectionEntry(body) => {
                    let (ops, blocks) = self.count_function(&body).map_err(invalid)?;
                    counts.operators = counts.operators.saturating_add(ops);
                    counts.blocks = counts.blocks.saturating_add(blocks);
                    let function = |what: &str, max: u64, flag: &str| {
                        limit(format!(
                            "a function has more than {max} {what} ({flag}): compile time \
                             grows faster than linearly with them"
                        ))
                    };
                    if ops > self.function_operators {
                        return Err(function(
                            "operators (locals and br_table targets count)",
                            self.function_operators,
                            "--function-operators",
                        ));
                    }
                    if blocks > self.function_blocks {
                        return Err(function(
                            "blocks, branches and calls (a loop counts 5)",
                            self.function_blocks,
                            "--function-blocks",
                        ));
                    }
                    let module = |what: &str, max: u64, flag: &str| {
                        limit(format!(
                            "the upload has more than {max} {what} ({flag}); compile time \
                             grows with them"
                        ))
                    };
                    if counts.operators > self.module_operators {
                        return Err(module(
                            "operators",
                            self.module_operators,
                            "--module-operators",
                        ));
                    }
                    if counts.blocks > self.module_blocks {
                        return Err(module(
                            "blocks, branches and calls (a loop counts 5)",
                            self.module_blocks,
                            "--module-blocks",
                        ));
                    }
                }
                _ => {}
            }
            self.check_counts(&counts)?;
        }
        Ok(counts)
    }

    /// The operators and blocks of one function body, counting no further
    /// than just past either cap. Locals and `br_table` targets count as
    /// operators; see the module docs for blocks.
    fn count_function(
        &self,
        body: &wasmparser::FunctionBody,
    ) -> Result<(u64, u64), wasmparser::BinaryReaderError> {
        let (mut ops, mut blocks) = (0u64, 0u64);
        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let (count, _) = locals.read()?;
            ops = ops.saturating_add(u64::from(count));
        }
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() && ops <= self.function_operators && blocks <= self.function_blocks {
            let op = reader.read()?;
            ops += match &op {
                Operator::BrTable { targets } => 1 + u64::from(targets.len()),
                _ => 1,
            };
            blocks += block_weight(&op);
        }
        Ok((ops, blocks))
    }

    fn check_counts(&self, counts: &Counts) -> Result<(), RemoteError> {
        let over = |what: &str, count: u64, max: Option<u64>, flag: &str| match max {
            Some(max) if count > max => Err(limit(format!(
                "the upload defines {count} {what}; the limit is {max} ({flag})"
            ))),
            _ => Ok(()),
        };
        over(
            "functions",
            counts.functions,
            self.functions,
            "--module-functions: compiling costs about 0.2 ms per function, however small",
        )?;
        over(
            "memories",
            counts.memories,
            self.memories,
            "--module-memories",
        )?;
        over("tables", counts.tables, self.tables, "--module-tables")
    }

    /// Refuse WAT text longer than the cap before parsing it.
    ///
    /// # Errors
    /// [`ErrorKind::ResourceLimit`] naming `--wat-bytes`.
    pub fn check_text(&self, bytes: &[u8]) -> Result<(), RemoteError> {
        if !bytes.starts_with(b"\0asm") && bytes.len() as u64 > self.wat_bytes {
            return Err(limit(format!(
                "WAT text of {} bytes exceeds the limit of {} bytes (--wat-bytes); upload a \
                 binary instead",
                bytes.len(),
                self.wat_bytes
            )));
        }
        Ok(())
    }
}

/// What an operator counts as blocks (see the module docs).
fn block_weight(op: &Operator) -> u64 {
    match op {
        Operator::Loop { .. } => 5,
        Operator::Block { .. }
        | Operator::If { .. }
        | Operator::Else
        | Operator::TryTable { .. }
        | Operator::Try { .. }
        | Operator::Br { .. }
        | Operator::BrIf { .. }
        | Operator::BrTable { .. }
        | Operator::BrOnNull { .. }
        | Operator::BrOnNonNull { .. }
        | Operator::Call { .. }
        | Operator::CallIndirect { .. }
        | Operator::CallRef { .. }
        | Operator::ReturnCall { .. }
        | Operator::ReturnCallIndirect { .. }
        | Operator::ReturnCallRef { .. } => 1,
        _ => 0,
    }
}

fn limit(message: String) -> RemoteError {
    RemoteError::new(ErrorKind::ResourceLimit, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(function_operators: u64, module_operators: u64) -> CompileBounds {
        CompileBounds {
            function_operators,
            module_operators,
            ..COMPILE_BOUNDS
        }
    }

    #[test]
    fn blocks_are_counted_and_a_loop_counts_five() {
        let blocks = wat::parse_str(
            "(module (func (block (loop (br 1))) (block)) (func (call 0) (call 0)))",
        )
        .unwrap();
        let counts = COMPILE_BOUNDS.check(&blocks).unwrap();
        assert_eq!(counts.blocks, 1 + 5 + 1 + 1 + 2);
        let tight = CompileBounds {
            function_blocks: 7,
            ..COMPILE_BOUNDS
        };
        let e = tight.check(&blocks).unwrap_err();
        assert!(e.message.contains("--function-blocks"), "{}", e.message);
        let tight = CompileBounds {
            module_blocks: 9,
            ..COMPILE_BOUNDS
        };
        let e = tight.check(&blocks).unwrap_err();
        assert!(e.message.contains("--module-blocks"), "{}", e.message);
    }

    #[test]
    fn operators_are_counted_per_function_and_per_module() {
        let two = wat::parse_str("(module (func (param i32) (drop (local.get 0))))").unwrap();
        // local.get, drop, end
        assert_eq!(bounds(3, 3).check(&two).unwrap().operators, 3);
        let e = bounds(2, 100).check(&two).unwrap_err();
        assert!(e.message.contains("--function-operators"), "{}", e.message);
        let twice =
            wat::parse_str("(module (func (drop (i32.const 0))) (func (drop (i32.const 0))))")
                .unwrap();
        let e = bounds(3, 5).check(&twice).unwrap_err();
        assert!(e.message.contains("--module-operators"), "{}", e.message);
    }

    #[test]
    fn locals_and_br_table_targets_count() {
        let locals = wat::parse_str("(module (func (local i32 i32 i32 i32)))").unwrap();
        assert_eq!(bounds(100, 100).check(&locals).unwrap().operators, 5);
        let table = wat::parse_str(
            "(module (func (param i32) (block (br_table 0 0 0 0 0 (local.get 0)))))",
        )
        .unwrap();
        // block, local.get, br_table + 4 targets (the fifth is the default),
        // end, end
        assert_eq!(bounds(100, 100).check(&table).unwrap().operators, 9);
    }

    #[test]
    fn memories_tables_and_text_are_capped() {
        let memories = wat::parse_str("(module (memory 0) (memory 0) (memory 0))").unwrap();
        let e = CompileBounds {
            memories: Some(2),
            ..COMPILE_BOUNDS
        }
        .check(&memories)
        .unwrap_err();
        assert!(e.message.contains("--module-memories"), "{}", e.message);
        let e = CompileBounds {
            wat_bytes: 10,
            ..COMPILE_BOUNDS
        }
        .check_text(b"(module)   ")
        .unwrap_err();
        assert!(e.message.contains("--wat-bytes"), "{}", e.message);
    }
}
