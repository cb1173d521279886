//! Shared by the component tests: remote sorts and deterministic data.

use sandcall::{ClientError, Connection, ErrorKind, Value};

pub async fn sort(conn: &mut Connection, export: &str, data: &[i32]) -> Vec<i32> {
    let answer = conn
        .call("sorter", export, vec![Value::list_of(data)])
        .await
        .unwrap_or_else(|e| panic!("{export} of {} elements: {e}", data.len()));
    assert_eq!(answer.results.len(), 1);
    assert!(
        matches!(answer.results[0], Value::Packed(_)),
        "lists of numbers come back packed"
    );
    answer.results[0].to_numbers::<i32>().expect("a list<s32>")
}

/// A deterministic pseudo-random list, so failures reproduce.
pub fn random(n: usize, seed: u32) -> Vec<i32> {
    sandcall_guests::random_ints(n, u64::from(seed))
}

pub fn sorted(data: &[i32]) -> Vec<i32> {
    let mut v = data.to_vec();
    v.sort();
    v
}

pub fn remote_kind(e: ClientError) -> (ErrorKind, String) {
    let remote = e.remote().expect("a remote error").clone();
    (remote.kind, remote.message)
}
