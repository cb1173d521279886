//! The hostile-guest corpus, every attack sandboxed with CPU-time budgets
//! (the default), sandboxed with fuel, and unrestricted, each asserting the
//! outcome the corpus states for that mode while a second client keeps
//! calling and getting answers.

use crate::server_allowing_unrestricted;
use sandcall::{ConnectOptions, Connection, Metering, Mode};
use sandcall_cli::corpus::bystander::Bystander;
use sandcall_cli::corpus::modules::SECRET_FILE;
use sandcall_cli::corpus::{self, Attack, Settings};
use sandcall_server::LimitConfig;
use std::path::PathBuf;

/// A fresh directory holding `secret.txt`, for one test.
fn planted(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sandcall-corpus-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(SECRET_FILE), "the launch codes\n").unwrap();
    dir
}

/// Run `attack` in both modes on one server and check each outcome, and
/// that a bystander got every one of its calls answered meanwhile.
async fn attack_in_both_modes(attack: Attack) {
    let dir = planted(&format!("{attack:?}"));
    let server = server_allowing_unrestricted(LimitConfig::default(), &dir).await;
    let addr = server.addr().to_string();
    let settings = Settings::quick();
    let sessions = [
        (Mode::Sandboxed, Metering::Cpu),
        (Mode::Sandboxed, Metering::Fuel),
        (Mode::Unrestricted, Metering::Cpu),
    ];
    for (mode, metering) in sessions {
        let options = ConnectOptions {
            mode,
            metering,
            ..ConnectOptions::default()
        };
        let mut conn = Connection::connect_with(addr.as_str(), options)
            .await
            .unwrap();
        let bystander = Bystander::start(&addr).await.unwrap();
        let outcome = corpus::run(&mut conn, attack, &settings).await;
        let seen = bystander.finish().await.unwrap();
        assert_eq!(
            outcome.verdict,
            attack.expected(mode),
            "{} in {mode} mode ({metering}): {}",
            attack.name(),
            outcome.detail
        );
        assert!(
            seen.error.is_none(),
            "the bystander failed: {:?}",
            seen.error
        );
        assert!(seen.answered >= 1, "the bystander got no answer");
        // Long attacks must not hold the bystander up: it is answered while
        // they run (no timing asserted, only that answers came meanwhile).
        if outcome.elapsed.as_millis() >= 500 {
            assert!(
                seen.during >= 1,
                "{} in {mode} mode ran {:?} and the bystander got no answer meanwhile",
                attack.name(),
                outcome.elapsed
            );
        }
        // The attacker's connection is still served afterwards.
        assert_eq!(conn.info().await.unwrap().mode, mode);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop() {
    attack_in_both_modes(Attack::InfiniteLoop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_loop() {
    attack_in_both_modes(Attack::HeavyLoop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb() {
    attack_in_both_modes(Attack::MemoryBomb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_bomb() {
    attack_in_both_modes(Attack::TableBomb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursion() {
    attack_in_both_modes(Attack::Recursion).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_start() {
    attack_in_both_modes(Attack::EndlessStart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_file() {
    attack_in_both_modes(Attack::ReadFile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_env() {
    attack_in_both_modes(Attack::ReadEnv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_bomb() {
    attack_in_both_modes(Attack::OutputBomb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_bomb() {
    attack_in_both_modes(Attack::CompileBomb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_exports() {
    attack_in_both_modes(Attack::ManyExports).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleeper() {
    attack_in_both_modes(Attack::Sleeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_memories() {
    attack_in_both_modes(Attack::ManyMemories).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_bomb() {
    attack_in_both_modes(Attack::BlockBomb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wat_bomb() {
    attack_in_both_modes(Attack::WatBomb).await;
}
