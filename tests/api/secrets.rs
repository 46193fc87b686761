//! Issue 13 item 1: the binary refuses the public development secrets (and short
//! ones) in every environment but development and test, and `seed-demo` refuses
//! production and never prints a database password.

use std::path::Path;
use std::process::{Command, Output};

const STRONG_JWT: &str = "a-deployment-jwt-secret-of-more-than-32-bytes";
const STRONG_KEY: &str = "a-deployment-identity-key-of-more-than-32-bytes";

/// Runs the real `wenlv` binary with only the variables given (plus the config dir).
fn wenlv(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wenlv"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WENLV") || key == "DATABASE_URL" || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("WENLV_CONFIG_DIR", Path::new(env!("CARGO_MANIFEST_DIR")).join("config"));
    cmd.envs(vars.iter().copied());
    cmd.args(args).output().expect("wenlv runs")
}

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn default_or_short_secrets_are_refused_outside_development_and_test() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wenlv.db");
    let db = db.to_str().expect("utf-8 path");
    for env in ["staging", "prod", "production"] {
        let out = wenlv(&["migrate"], &[("WENLV_ENV", env), ("DATABASE_URL", db)]);
        assert!(!out.status.success(), "{env} started on the default secrets");
        assert!(all_output(&out).contains("auth.jwt_secret"), "{}", all_output(&out));

        let out = wenlv(
            &["migrate"],
            &[
                ("WENLV_ENV", env),
                ("DATABASE_URL", db),
                ("WENLV__AUTH__JWT_SECRET", "short-secret"),
                ("WENLV__AUTH__IDENTITY_HASH_KEY", STRONG_KEY),
            ],
        );
        assert!(!out.status.success(), "{env} started on a short secret");
        assert!(all_output(&out).contains("32 bytes"), "{}", all_output(&out));

        let out = wenlv(
            &["migrate"],
            &[
                ("WENLV_ENV", env),
                ("DATABASE_URL", db),
                ("WENLV__AUTH__JWT_SECRET", STRONG_JWT),
                (
                    "WENLV__AUTH__IDENTITY_HASH_KEY",
                    "dev-only-identity-key-change-me-in-production-00",
                ),
            ],
        );
        assert!(!out.status.success(), "{env} started on the default identity key");
        assert!(
            all_output(&out).contains("auth.identity_hash_key"),
            "{}",
            all_output(&out)
        );

        let out = wenlv(
            &["migrate"],
            &[
                ("WENLV_ENV", env),
                ("DATABASE_URL", db),
                ("WENLV__AUTH__JWT_SECRET", STRONG_JWT),
                ("WENLV__AUTH__IDENTITY_HASH_KEY", STRONG_KEY),
            ],
        );
        assert!(out.status.success(), "{env} refused good secrets: {}", all_output(&out));
        assert!(all_output(&out).contains("deployment mode"), "{}", all_output(&out));
    }
    // Unset (the README's `cargo run`) and development still start on the defaults,
    // and say so.
    for vars in [
        vec![("DATABASE_URL", db)],
        vec![("DATABASE_URL", db), ("WENLV_ENV", "development")],
    ] {
        let out = wenlv(&["migrate"], &vars);
        assert!(out.status.success(), "{}", all_output(&out));
        assert!(all_output(&out).contains("development mode"), "{}", all_output(&out));
    }
}

#[test]
fn seed_demo_refuses_production_and_hides_the_database_password() {
    let url = "postgres://wenlv:hunter2-db-password@127.0.0.1:1/wenlv";
    let out = wenlv(
        &["seed-demo", "--small"],
        &[
            ("WENLV_ENV", "production"),
            ("DATABASE_URL", url),
            ("WENLV__AUTH__JWT_SECRET", STRONG_JWT),
            ("WENLV__AUTH__IDENTITY_HASH_KEY", STRONG_KEY),
        ],
    );
    assert!(!out.status.success());
    let text = all_output(&out);
    assert!(text.contains("seed-demo"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    // In development it tries (the server is unreachable) without printing it either.
    let out = wenlv(&["seed-demo", "--small"], &[("DATABASE_URL", url)]);
    assert!(!out.status.success());
    assert!(!all_output(&out).contains("hunter2"), "{}", all_output(&out));
}
