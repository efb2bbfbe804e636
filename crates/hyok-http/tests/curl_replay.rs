//! The documented requests, replayed as a user types them into a shell:
//! `curl` with `X-Requested-By`, the `AR-JWT` cookie among other cookies,
//! `-F` form fields and `-F privateKey=@key.pem`, in the short style of the
//! README and in the `--location --header --form` style that API tools
//! export.

mod support;

use hyok_aws::testing::{MotoServer, TEST_REGION};
use hyok_oci::testing::{TestServer, test_key};
use serde_json::json;
use support::{ADMIN_PASSWORD, Server, assert_no_secret, shell};

const AWS_SECRET: &str = "CANARY-replayed-aws-secret-0b7e";

#[tokio::test(flavor = "multi_thread")]
async fn documented_requests() {
    let moto = MotoServer::start().await;
    let aws_key = moto.create_key(Some("alias/hyok-replay")).await;
    let oci = TestServer::start();
    let oci_key = oci.create_key();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.pem"), test_key::PRIVATE_KEY_PEM).unwrap();
    let mut server = Server::start(
        &dir.path().join("data"),
        &[("AWS_ENDPOINT_URL_KMS", moto.endpoint())],
    );

    let host = format!("localhost:{}", server.port);
    let (crypto, mgmt) = (oci.crypto_endpoint(), oci.management_endpoint());
    let mut vars = vec![
        ("HOST", host.as_str()),
        ("PASSWORD", ADMIN_PASSWORD),
        ("AWS_SECRET", AWS_SECRET),
        ("AWS_KEY", aws_key.arn.as_str()),
        ("REGION", TEST_REGION),
        ("TENANCY", test_key::TENANCY_OCID),
        ("USER_ID", test_key::USER_OCID),
        ("FINGERPRINT", test_key::FINGERPRINT),
        ("CRYPTO", crypto.as_str()),
        ("MGMT", mgmt.as_str()),
        ("OCI_KEY", oci_key.as_str()),
    ];

    let login = shell(
        "curl -X POST \"http://$HOST/api/jwt/login\" \
         -H 'Content-Type: application/x-www-form-urlencoded' \
         -d \"username=admin&password=$PASSWORD\"",
        &vars,
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.body.clone();
    vars.push(("TOKEN", token.as_str()));

    let check = "curl \"http://$HOST/api/arsys/v1.0/dek/check\" \
                 -H 'X-Requested-By: XMLHttpRequest' \
                 -H \"Cookie: _cacheId=1; route=r1; AR-JWT=$TOKEN; onbmc_pool=p1\"";
    let off = shell(check, &vars);
    assert_eq!(off.status, 200);
    assert_eq!(off.json()["HYOKProvider"], "No-Provider-Configured");

    let created = shell(
        "curl -X POST \"http://$HOST/api/arsys/v1.0/kmsconfig/create\" \
         -H 'X-Requested-By: XMLHttpRequest' \
         -H \"Cookie: AR-JWT=$TOKEN\" \
         -F provider=aws -F accessKey=AKIAREPLAY0000000001 -F secretKey=$AWS_SECRET \
         -F masterKeyId=$AWS_KEY -F region=$REGION",
        &vars,
    );
    assert_eq!(
        created.json(),
        json!({"status": "success", "message": "KMS Configuration created Successfully"})
    );
    assert_eq!(shell(check, &vars).json()["hyokprovider"], "aws");

    let rotated = shell(
        "curl -X POST \"http://$HOST/api/arsys/v1.0/dek/rotate\" \
         -H 'X-Requested-By: XMLHttpRequest' -H \"Authorization: AR-JWT $TOKEN\"",
        &vars,
    );
    assert_eq!(
        rotated.json(),
        json!({"message": "Kek rotated successfully"})
    );

    let updated = shell(
        "cd \"$KEY_DIR\" && \
         curl --location --request POST \"http://$HOST/api/arsys/v1.0/kmsconfig/update\" \
         --header 'X-Requested-By: XMLHttpRequest' \
         --header \"Cookie: _cacheId=9; AR-JWT=$TOKEN; route=abc; onbmc_pool=x\" \
         --form 'provider=\"oci\"' \
         --form \"tenantId=\\\"$TENANCY\\\"\" \
         --form \"userId=\\\"$USER_ID\\\"\" \
         --form \"fingerprint=\\\"$FINGERPRINT\\\"\" \
         --form \"cryptoEndpoint=\\\"$CRYPTO\\\"\" \
         --form \"mgmtEndpoint=\\\"$MGMT\\\"\" \
         --form \"masterKeyId=\\\"$OCI_KEY\\\"\" \
         --form 'privateKey=@\"key.pem\"'",
        &[
            vars.as_slice(),
            &[("KEY_DIR", dir.path().to_str().unwrap())],
        ]
        .concat(),
    );
    assert_eq!(
        updated.json(),
        json!({"status": "success", "message": "KMS Configuration updated Successfully"})
    );
    assert_eq!(shell(check, &vars).json()["isHYOKEnabled"], true);

    let config = shell(
        "curl \"http://$HOST/api/arsys/v1.0/kmsconfig/get\" \
         -H 'X-Requested-By: XMLHttpRequest' -H \"Authorization: AR-JWT $TOKEN\"",
        &vars,
    );
    assert_eq!(
        (
            config.json()["provider"].clone(),
            config.json()["privateKey"].clone()
        ),
        (json!("oci"), json!("[REDACTED]"))
    );

    let again = shell(
        "curl -X POST \"http://$HOST/api/arsys/v1.0/kmsconfig/create\" \
         -H 'X-Requested-By: XMLHttpRequest' -H \"Cookie: AR-JWT=$TOKEN\" \
         -F provider=aws -F accessKey=AKIAREPLAY0000000001 -F secretKey=$AWS_SECRET \
         -F masterKeyId=$AWS_KEY -F region=$REGION",
        &vars,
    );
    again.assert_error(409, 9035);

    let logout = shell(
        "curl -X POST \"http://$HOST/api/jwt/logout\" \
         -H 'X-Requested-By: XMLHttpRequest' -H \"Authorization: AR-JWT $TOKEN\"",
        &vars,
    );
    assert_eq!(logout.status, 204);
    shell(check, &vars).assert_error(401, 9601);

    server.stop();
    let secret_pem_line = test_key::PRIVATE_KEY_PEM.lines().nth(3).unwrap();
    assert_no_secret(
        &server.log(),
        &[AWS_SECRET, secret_pem_line, ADMIN_PASSWORD, &token],
    );
}
