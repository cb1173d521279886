//! Fuzzing the wire (issue 15): frame decoding and the decoding of every
//! request, of the hello and of answers, from generated messages, from
//! byte-level mutations of their encodings and from arbitrary bytes. Each
//! must decode to what was sent or fail with a `CodecError`: never a panic,
//! an abort or an allocation the bytes do not pay for (`crate::nesting`,
//! `crate::exact`). The seed corpus is `fuzz/seeds/frames/`.
//!
//! No server here (that is the client's and the server's tests): this
//! binary links no wasmtime, so it runs many cases per second.

mod harness;
mod seeds;
mod strategies;

use bytes::BytesMut;
use harness::{fuzz, lock, take};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use sandcall_protocol::codec::{RawFrame, decode_body};
use sandcall_protocol::{
    Hello, MessageCodec, RemoteError, Request, Response, Welcome, hello_version,
};
use std::sync::Mutex;
use strategies::{VARIANTS, eval_result, hello, mutate, mutations, request, variant};
use tokio_util::codec::{Decoder, Encoder};

fn encode<T: serde::Serialize>(message: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(message, bincode::config::standard()).expect("encodes")
}

/// What a decoded message re-encodes to decodes to the same message: a
/// mutation that decoded produced a message the protocol can carry.
fn stable<T>(decoded: &T) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let again = decode_body::<T>(&encode(decoded)).ok();
    prop_assert_eq!(again.as_ref(), Some(decoded));
    Ok(())
}

#[test]
fn every_request_round_trips() {
    let seen = Mutex::new([0u32; VARIANTS]);
    fuzz("request round trip", 5000, request(), |request| {
        lock(&seen)[variant(&request)] += 1;
        let body = encode(&request);
        prop_assert_eq!(decode_body::<Request>(&body).unwrap(), request);
        Ok(())
    });
    let seen = take(seen);
    assert!(seen.iter().all(|&n| n > 0), "every variant drawn: {seen:?}");
}

#[test]
fn mutated_requests_decode_or_fail_cleanly() {
    let decoded = Mutex::new(0u32);
    let sources = prop_oneof![request(), proptest::sample::select(seeds::requests())];
    fuzz(
        "mutated requests",
        20_000,
        (sources, mutations()),
        |(request, mutations)| {
            let body = mutate(encode(&request), &mutations);
            if let Ok(request) = decode_body::<Request>(&body) {
                *lock(&decoded) += 1;
                stable(&request)?;
            }
            Ok(())
        },
    );
    let decoded = take(decoded);
    assert!(decoded > 0, "some mutations still decode");
}

#[test]
fn arbitrary_bodies_decode_or_fail_cleanly() {
    fuzz(
        "arbitrary bodies",
        50_000,
        vec(any::<u8>(), 0..160),
        |body| {
            if let Ok(r) = decode_body::<Request>(&body) {
                stable(&r)?;
            }
            if let Ok(h) = decode_body::<Hello>(&body) {
                prop_assert_eq!(hello_version(&body), Some(h.protocol_version));
            }
            let _ = hello_version(&body);
            let _ = decode_body::<Result<Response, RemoteError>>(&body);
            let _ = decode_body::<Result<Welcome, RemoteError>>(&body);
            Ok(())
        },
    );
}

#[test]
fn hellos_round_trip_and_mutated_hellos_fail_cleanly() {
    fuzz(
        "hellos",
        5000,
        (hello(), mutations()),
        |(hello, mutations)| {
            let body = encode(&hello);
            prop_assert_eq!(hello_version(&body), Some(hello.protocol_version));
            prop_assert_eq!(&decode_body::<Hello>(&body).unwrap(), &hello);
            let body = mutate(body, &mutations);
            if let Ok(hello) = decode_body::<Hello>(&body) {
                stable(&hello)?;
            }
            Ok(())
        },
    );
}

#[test]
fn answers_with_values_round_trip_and_mutated_answers_fail_cleanly() {
    fuzz(
        "answers",
        5000,
        (eval_result(), any::<bool>(), mutations()),
        |(result, as_global, mutations)| {
            let answer: Result<Response, RemoteError> = match (as_global, result.results.first()) {
                (true, Some(value)) => Ok(Response::Global(value.clone())),
                _ => Ok(Response::Evaluated(result)),
            };
            let body = encode(&answer);
            prop_assert_eq!(
                &decode_body::<Result<Response, RemoteError>>(&body).unwrap(),
                &answer
            );
            let body = mutate(body, &mutations);
            if let Ok(answer) = decode_body::<Result<Response, RemoteError>>(&body) {
                stable(&answer)?;
            }
            Ok(())
        },
    );
}

/// `buffer` fed to `codec` in pieces cut at `cuts`: the frames it gave, and
/// the error that ended it, if any.
fn feed(codec: &mut MessageCodec, buffer: &[u8], cuts: &[Index]) -> (Vec<RawFrame>, bool) {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(buffer.len() + 1)).collect();
    at.push(buffer.len());
    at.sort_unstable();
    let (mut src, mut frames, mut from) = (BytesMut::new(), Vec::new(), 0);
    for to in at {
        src.extend_from_slice(&buffer[from..to]);
        from = to;
        loop {
            match codec.decode(&mut src) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    (frames, false)
}

#[test]
fn frames_decode_alike_however_the_stream_is_cut() {
    fuzz(
        "frame streams",
        5000,
        (
            vec((any::<u64>(), request()), 1..5),
            vec(any::<Index>(), 0..12),
        ),
        |(messages, cuts)| {
            let mut codec = MessageCodec::new(1 << 20);
            let mut buffer = BytesMut::new();
            for (id, request) in &messages {
                codec.encode((*id, request), &mut buffer).unwrap();
            }
            let (frames, failed) = feed(&mut codec, &buffer, &cuts);
            prop_assert!(!failed);
            prop_assert_eq!(frames.len(), messages.len());
            for (frame, (id, request)) in frames.iter().zip(&messages) {
                prop_assert_eq!(frame.id, *id);
                prop_assert_eq!(&frame.decode::<Request>().unwrap(), request);
            }
            Ok(())
        },
    );
}

#[test]
fn mutated_frame_streams_fail_cleanly() {
    fuzz(
        "mutated frame streams",
        10_000,
        (
            vec((any::<u64>(), request()), 1..4),
            mutations(),
            vec(any::<Index>(), 0..6),
            prop_oneof![Just(12usize), 13..300usize, Just(1 << 20)],
        ),
        |(messages, mutations, cuts, max_frame)| {
            let mut buffer = BytesMut::new();
            let mut codec = MessageCodec::new(1 << 20);
            for (id, request) in &messages {
                codec.encode((*id, request), &mut buffer).unwrap();
            }
            let buffer = mutate(buffer.to_vec(), &mutations);
            let mut codec = MessageCodec::new(max_frame);
            let (frames, _) = feed(&mut codec, &buffer, &cuts);
            for frame in frames {
                prop_assert!(frame.body.len() + 8 <= max_frame);
                if let Ok(request) = frame.decode::<Request>() {
                    stable(&request)?;
                }
            }
            Ok(())
        },
    );
}

#[test]
fn the_seed_frames_are_the_encodings_of_their_requests() {
    seeds::check();
}
