//! The process's arguments as clap parses them, and `--input` files of
//! numbers read straight into a packed list: any input parses or fails
//! with a message; a list of numbers reads the same however the file
//! arrives in pieces, and the same as through `wasm-wave`.

use super::harness::{fuzz, lock, take};
use proptest::collection::vec;
use proptest::prelude::*;
use sandcall::wave;
use sandcall_cli::input::read_packed;
use sandcall_protocol::{NumType, Value, WitType};

/// The binary's own argument definitions (a module of `main.rs`, not of
/// the library), compiled in here as they are there.
#[allow(dead_code)]
#[path = "../../../src/args.rs"]
mod cli_args;

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "info", "run", "shell", "call", "new", "build", "compare", "wast", "guest",
            "--server", "127.0.0.1:1", "sandcalls://h:1", "--ca", "--cert", "--key",
            "--token-file", "--embedded", "--mode", "sandboxed", "unrestricted", "--json",
            "--host-stdio", "--keep-going", "-v", "--fuel", "--deadline-ms", "--input",
            "--suite", "wasm-v2", "--all", "-o", "--", "-", "x.sandcall", "f", "1",
            "-1", "[1, 2]", "--help", "-h", "--version", "--mode=fast", "--fuel=-3",
        ])
        .prop_map(String::from),
        1 => r"--?[a-z-]{0,12}(=[a-z0-9]{0,3})?",
        1 => any::<String>(),
    ]
}

#[test]
fn any_command_line_parses_or_fails_cleanly() {
    use clap::Parser;
    fuzz("command lines", 5000, vec(arg(), 0..7), |args| {
        let argv = std::iter::once("sandcall".to_string()).chain(args);
        let _ = cli_args::Cli::try_parse_from(argv);
        Ok(())
    });
}

/// A reader that hands out its bytes in pieces of the given sizes.
struct Pieces<'a> {
    bytes: &'a [u8],
    sizes: std::iter::Cycle<std::vec::IntoIter<usize>>,
}

impl std::io::Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self
            .sizes
            .next()
            .unwrap_or(1)
            .min(buf.len())
            .min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

fn elem() -> impl Strategy<Value = NumType> {
    use NumType::*;
    proptest::sample::select(vec![S8, U8, S16, U16, S32, U32, S64, U64, F32, F64])
}

fn wit(elem: NumType) -> WitType {
    match elem {
        NumType::S8 => WitType::S8,
        NumType::U8 => WitType::U8,
        NumType::S16 => WitType::S16,
        NumType::U16 => WitType::U16,
        NumType::S32 => WitType::S32,
        NumType::U32 => WitType::U32,
        NumType::S64 => WitType::S64,
        NumType::U64 => WitType::U64,
        NumType::F32 => WitType::F32,
        NumType::F64 => WitType::F64,
    }
}

/// A list of numbers as a file may hold it, or something close to one.
fn list_text() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i8>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        any::<f32>().prop_map(|n| format!("{n:e}")),
        r"[-+]?[0-9]{0,3}(\.[0-9]{0,2})?(e[-+]?[0-9]{1,3})?|nan|inf|-inf|-0|0x1f",
    ];
    let gap = r"( |\n|\t|// c\n|,|/){0,2}";
    (vec((number, gap, gap), 0..8), gap, gap).prop_map(|(items, open, close)| {
        let items: Vec<String> = items
            .into_iter()
            .map(|(n, a, b)| format!("{a}{n}{b}"))
            .collect();
        format!("{open}[{}]{close}", items.join(","))
    })
}

#[test]
fn input_lists_read_alike_in_any_pieces_and_as_wave() {
    let agreed = std::sync::Mutex::new(0u32);
    let text = prop_oneof![3 => list_text(), 1 => any::<String>()];
    fuzz(
        "input lists",
        5000,
        (text, elem(), vec(1..9usize, 1..4)),
        |(text, elem, sizes)| {
            let whole = read_packed(text.as_bytes(), elem);
            let pieces = Pieces {
                bytes: text.as_bytes(),
                sizes: sizes.into_iter().cycle(),
            };
            let pieced = read_packed(pieces, elem);
            prop_assert_eq!(&whole, &pieced, "{:?} as {}", text, elem);
            let float = matches!(elem, NumType::F32 | NumType::F64);
            if let (Ok(packed), Ok(Value::Packed(parsed)), false) = (
                &whole,
                wave::parse(&WitType::List(Box::new(wit(elem))), &text),
                float,
            ) {
                *lock(&agreed) += 1;
                prop_assert_eq!(packed, &parsed, "{:?} as {}", text, elem);
            }
            Ok(())
        },
    );
    assert!(take(agreed) > 100, "valid lists were drawn");
}
