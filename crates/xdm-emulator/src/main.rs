//! `xdm-emulator [--addr 127.0.0.1:0] [--seed N] [--events N] [--empty] [--consent] [--no-limits]`:
//! serves until killed, after printing one JSON line with the base URL, credentials and users.

use std::net::SocketAddr;

fn usage() -> ! {
    eprintln!(
        "usage: xdm-emulator [--addr 127.0.0.1:0] [--seed N] [--events N] [--empty] [--consent]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut builder = xdm_emulator::Emulator::builder();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        builder = match a.as_str() {
            "--addr" => builder.addr(value().parse::<SocketAddr>().unwrap_or_else(|_| usage())),
            "--seed" => builder.seed(value().parse().unwrap_or_else(|_| usage())),
            "--events" => builder.seed_events(value().parse().unwrap_or_else(|_| usage())),
            "--empty" => builder.empty_world(),
            "--consent" => builder.auto_approve(false),
            "--no-limits" => builder.rate_limits(xdm_emulator::RateLimits::off()),
            "-h" | "--help" => usage(),
            _ => usage(),
        };
    }
    let emu = match builder.start().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("xdm-emulator: cannot start: {e}");
            std::process::exit(1)
        }
    };
    #[allow(clippy::print_stdout)]
    {
        println!("{}", emu.describe());
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
}
