//! The seminar's WAT sorts, run remotely on edge-case data.

use crate::common::{connect, server};
use sandcall::{Connection, Value};

const SORTS: &str = include_str!("../../examples/guests/sorts.wat");

async fn sort(conn: &mut Connection, export: &str, data: &[i32]) -> Vec<i32> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let reserved = conn
        .eval("s", "reserve", &[Value::I32(bytes.len() as i32)])
        .await
        .unwrap();
    assert_eq!(reserved, vec![Value::I32(1)]);
    if !bytes.is_empty() {
        conn.write_memory("s", None, 0, bytes.clone())
            .await
            .unwrap();
    }
    conn.eval("s", export, &[Value::I32(0), Value::I32(data.len() as i32)])
        .await
        .unwrap();
    let back = conn
        .read_memory("s", None, 0, bytes.len() as u64)
        .await
        .unwrap();
    back.chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[tokio::test]
async fn both_sorts_handle_edge_cases() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("s", SORTS).await.unwrap();
    let mut x: u32 = 12345;
    let random: Vec<i32> = (0..3000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as i32
        })
        .collect();
    let cases: Vec<Vec<i32>> = vec![
        vec![],
        vec![7],
        vec![2, 1],
        vec![3, 3, 1, 3, 1],
        (0..100).collect(),
        (0..100).rev().collect(),
        vec![i32::MAX, 0, i32::MIN, -1, 1, i32::MIN, i32::MAX],
        random,
    ];
    for export in ["bubble_sort", "quick_sort"] {
        for case in &cases {
            let mut expected = case.clone();
            expected.sort_unstable();
            assert_eq!(
                sort(&mut conn, export, case).await,
                expected,
                "{export} {case:?}"
            );
        }
    }
}
