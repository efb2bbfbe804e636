//! Latency of one unwrap (KMS `Decrypt`) against moto on loopback.
//!
//! ```text
//! HYOK_MOTO_SERVER=.venv-moto/bin/moto_server \
//!     cargo run -p hyok-aws --release --features testing --example unwrap_latency
//! ```
//!
//! Prints the median, 90th and 99th percentile over 200 calls, after 20
//! calls of warm-up (connection set up, Python code paths warm).

use std::time::{Duration, Instant};

use hyok_aws::AwsFactory;
use hyok_aws::testing::{self, MotoServer};
use hyok_core::ProviderFactory;
use hyok_core::testing::context_of;

const WARM_UP: usize = 20;
const CALLS: usize = 200;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let moto = MotoServer::start().await;
    let key = moto.create_key(None).await;
    let provider = AwsFactory::with_limits(testing::test_limits())
        .build(&moto.config(&key.key_id))
        .expect("a well-formed configuration");
    let context = context_of(&[("hyok:keyring", "latency"), ("hyok:version", "1")]);
    let (_, wrapped) = provider.generate(&context).await.expect("generate");

    let mut times = Vec::with_capacity(CALLS);
    for i in 0..WARM_UP + CALLS {
        let started = Instant::now();
        provider.unwrap(&wrapped, &context).await.expect("unwrap");
        if i >= WARM_UP {
            times.push(started.elapsed());
        }
    }

    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "unwrap (KMS Decrypt) against moto, {CALLS} calls: median {}, p90 {}, p99 {}, min {}",
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(times[0])
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
