//! The seed corpus of frames, `fuzz/seeds/frames/*.hex`: one valid frame
//! per request kind and a hello, as hex text (length, id, body), which the
//! mutation targets start from besides generated messages. The files are
//! the encodings of [`samples`]; `SANDCALL_FUZZ_BLESS=1` rewrites them
//! after a wire change (the protocol version changes with it).

use bytes::BytesMut;
use sandcall_protocol::{
    Eval, Execute, Hello, MemoryRead, MemoryWrite, MessageCodec, Metering, Mode, PROTOCOL_VERSION,
    Request, Value,
};
use std::fmt::Write as _;
use std::path::PathBuf;
use tokio_util::codec::Encoder;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/frames")
}

/// One request of each kind, as a client sends them.
pub fn requests() -> Vec<Request> {
    let add = br#"(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#;
    let point = Value::Record(vec![
        ("x".into(), Value::I32(1)),
        ("label".into(), Value::String("a".into())),
    ]);
    vec![
        Request::Info,
        Request::Execute(Execute {
            name: "m".into(),
            module: add.to_vec(),
            replace: false,
        }),
        Request::Eval(Eval {
            name: "m".into(),
            export: "add".into(),
            args: vec![Value::I32(2), Value::I32(40)],
            fuel: Some(1000),
            deadline_ms: None,
            cpu_ms: None,
        }),
        Request::Eval(Eval {
            name: "v".into(),
            export: "echo-nested".into(),
            args: vec![Value::List(vec![
                Value::Option(Some(Box::new(point))),
                Value::Option(None),
            ])],
            fuel: None,
            deadline_ms: Some(500),
            cpu_ms: Some(20),
        }),
        Request::Eval(Eval {
            name: "sorter".into(),
            export: "quick-sort".into(),
            args: vec![Value::list_of(&[5i32, 3, 9, 1])],
            fuel: None,
            deadline_ms: None,
            cpu_ms: None,
        }),
        Request::Namespace,
        Request::Drop { name: "m".into() },
        Request::GetGlobal {
            name: "m".into(),
            global: "counter".into(),
        },
        Request::SetGlobal {
            name: "m".into(),
            global: "counter".into(),
            value: Value::I64(-1),
        },
        Request::ReadMemory(MemoryRead {
            name: "m".into(),
            memory: None,
            offset: 16,
            len: 4,
        }),
        Request::WriteMemory(MemoryWrite {
            name: "m".into(),
            memory: Some("memory".into()),
            offset: 0,
            bytes: vec![1, 2, 3],
        }),
        Request::Register {
            name: "m".into(),
            as_name: "lib".into(),
        },
        Request::Validate {
            module: b"\0asm\x01\0\0\0".to_vec(),
        },
        Request::Reset { name: "m".into() },
        Request::Cancel { id: 7 },
    ]
}

fn hello() -> Hello {
    Hello {
        protocol_version: PROTOCOL_VERSION,
        client: "fuzz".into(),
        mode: Mode::Sandboxed,
        token: Some("t0ken".into()),
        host_stdio: false,
        metering: Metering::Fuel,
    }
}

/// Each seed file's name and frame.
fn samples() -> Vec<(String, Vec<u8>)> {
    let mut codec = MessageCodec::default();
    let mut frame = |id: u64, message: &dyn erased::Message| {
        let mut buf = BytesMut::new();
        message.encode(&mut codec, id, &mut buf);
        buf.to_vec()
    };
    let mut samples = vec![("00-hello".to_string(), frame(0, &hello()))];
    for (i, request) in requests().iter().enumerate() {
        let kind = format!("{request:?}");
        let kind: String = kind
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        let id = i as u64 + 1;
        samples.push((format!("{id:02}-{kind}"), frame(id, request)));
    }
    samples
}

mod erased {
    use super::*;
    /// A message of either type, so the samples share one list.
    pub trait Message {
        fn encode(&self, codec: &mut MessageCodec, id: u64, buf: &mut BytesMut);
    }
    impl<T: serde::Serialize> Message for T {
        fn encode(&self, codec: &mut MessageCodec, id: u64, buf: &mut BytesMut) {
            codec.encode((id, self), buf).expect("a seed encodes");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::new();
    for line in bytes.chunks(32) {
        for b in line {
            let _ = write!(text, "{b:02x}");
        }
        text.push('\n');
    }
    text
}

/// Every sample is in its file, byte for byte, and no file is left over
/// (or, with `SANDCALL_FUZZ_BLESS=1`, the files are rewritten).
pub fn check() {
    let dir = dir();
    let samples = samples();
    if std::env::var_os("SANDCALL_FUZZ_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, frame) in &samples {
            std::fs::write(dir.join(format!("{name}.hex")), hex(frame)).unwrap();
        }
    }
    let files = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .count();
    assert_eq!(files, samples.len(), "seed files in {}", dir.display());
    for (name, frame) in samples {
        let path = dir.join(format!("{name}.hex"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (SANDCALL_FUZZ_BLESS=1 writes it)", path.display())
        });
        assert_eq!(
            text,
            hex(&frame),
            "{} is stale: SANDCALL_FUZZ_BLESS=1 rewrites the seeds",
            path.display()
        );
    }
}
