//! Nothing waits without end, and a bad configuration never reaches the wire.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use hyok_aws::testing::{self, KmsProxy, StalledServer};
use hyok_aws::{AwsFactory, CallLimits};
use hyok_core::testing::context_of;
use hyok_core::{ProviderErrorKind, ProviderFactory, WrappedDek};

const KEY_ID: &str = "alias/hyok";

#[tokio::test]
async fn a_stalled_endpoint_times_out_within_the_bound() {
    let stalled = StalledServer::start().await;
    let limits = CallLimits::default()
        .attempt_timeout(Duration::from_millis(300))
        .operation_timeout(Duration::from_secs(1))
        .backoff(Duration::from_millis(10), Duration::from_millis(50));
    let provider = AwsFactory::with_limits(limits)
        .build(&testing::config(stalled.endpoint(), KEY_ID))
        .expect("a well-formed configuration");

    let started = Instant::now();
    let err = provider.validate().await.expect_err("nobody answers");
    let elapsed = started.elapsed();

    assert_eq!(err.kind(), ProviderErrorKind::TimedOut, "{err:?}");
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");

    let started = Instant::now();
    let wrapped = WrappedDek::new(vec![1; 96]);
    let err = provider
        .unwrap(&wrapped, &context_of(&[]))
        .await
        .expect_err("nobody answers");
    assert_eq!(err.kind(), ProviderErrorKind::TimedOut, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_closed_port_is_unavailable_not_a_hang() {
    let port = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        listener.local_addr().expect("address").port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let provider = AwsFactory::with_limits(testing::test_limits())
        .build(&testing::config(&endpoint, KEY_ID))
        .expect("a well-formed configuration");

    let err = provider.validate().await.expect_err("nothing listens");
    assert_eq!(err.kind(), ProviderErrorKind::Unavailable, "{err:?}");
    assert_eq!(err.message(), "AWS KMS is unreachable");
}

#[tokio::test]
async fn a_malformed_region_is_refused_before_any_connection() {
    let proxy = KmsProxy::start("http://127.0.0.1:9").await;
    let crafted = [
        "us-east-1.evil.example",
        "evil.example/us-east-1",
        "us-east-1:443",
        "us-east-1#",
        "US-EAST-1",
        "",
    ];

    for region in crafted {
        let config = testing::config(proxy.endpoint(), KEY_ID).setting("region", region);
        let err = AwsFactory::new().build(&config).expect_err(region);
        let expected = match region.trim() {
            "" => ProviderErrorKind::MissingField,
            _ => ProviderErrorKind::InvalidField,
        };
        assert_eq!(err.kind(), expected, "{region:?}: {err:?}");
    }
    assert_eq!(proxy.total_calls(), 0);
}

#[tokio::test]
async fn a_malformed_endpoint_is_refused() {
    for endpoint in [
        "kms.example",
        "ftp://127.0.0.1",
        "http://user:pw@127.0.0.1",
        "http://",
    ] {
        let config = testing::config(endpoint, KEY_ID);
        let err = AwsFactory::new().build(&config).expect_err(endpoint);
        assert_eq!(
            err.kind(),
            ProviderErrorKind::InvalidField,
            "{endpoint}: {err:?}"
        );
    }
}
