//! The floor: a raw tokio TCP echo on loopback, in a process of its own like
//! the Sandcall server. A message is a 4-byte big-endian length and that
//! many bytes (the framing Sandcall uses), sent back unchanged. Whatever
//! Sandcall adds on top of this (decoding, the call, encoding) is its cost.

use anyhow::ensure;
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Run the echo server (the bench binary started with `--serve-echo`):
/// print `listening on ADDR`, then echo every connection until killed.
///
/// # Errors
/// When loopback cannot be bound.
pub async fn serve() -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let (socket, _) = listener.accept().await?;
        tokio::spawn(echo_connection(socket));
    }
}

async fn echo_connection(mut socket: TcpStream) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let mut buf = Vec::new();
    loop {
        let mut header = [0u8; 4];
        socket.read_exact(&mut header).await?;
        let len = u32::from_be_bytes(header) as usize;
        buf.resize(4 + len, 0);
        buf[..4].copy_from_slice(&header);
        socket.read_exact(&mut buf[4..]).await?;
        socket.write_all(&buf).await?;
    }
}

/// One connection to the echo server.
pub struct EchoClient {
    stream: TcpStream,
    out: Vec<u8>,
    back: Vec<u8>,
}

impl EchoClient {
    /// Connect to the echo server at `addr`.
    ///
    /// # Errors
    /// When it cannot be reached.
    pub async fn connect(addr: &str) -> anyhow::Result<EchoClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(EchoClient {
            stream,
            out: Vec::new(),
            back: Vec::new(),
        })
    }

    /// Send a message of `frame` bytes in all (header included) and wait
    /// for it to come back; returns the round-trip time.
    ///
    /// # Errors
    /// On i/o errors or a message that comes back changed.
    pub async fn round_trip(&mut self, frame: usize) -> anyhow::Result<Duration> {
        let len = frame.max(4);
        if self.out.len() != len {
            self.out = (0..len).map(|i| i as u8).collect();
            self.out[..4].copy_from_slice(&((len - 4) as u32).to_be_bytes());
            self.back = vec![0; len];
        }
        let start = Instant::now();
        self.stream.write_all(&self.out).await?;
        self.stream.read_exact(&mut self.back).await?;
        let took = start.elapsed();
        ensure!(self.back == self.out, "the echo came back changed");
        Ok(took)
    }
}
