//! Login is deliberately slow (argon2id at the default cost); the token check every other
//! request pays must not be. Both measured on the real path: a SQLite store, a real
//! account and session.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use zhiyuan_domain::access::GrantedRole;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_service::{Actor, Ctx, NewStaff, ServiceConfig, Vault, Zhiyuan};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let (app, token) = rt.block_on(async {
        let store = zhiyuan_store_sqlite::SqliteStore::open(&url)
            .await
            .expect("store");
        let app = Zhiyuan::new(
            Arc::new(store),
            Vault::new(&[1; 32]),
            ServiceConfig::default(),
        );
        app.ensure_reference_data().await.expect("reference data");
        app.create_staff(
            &Ctx::system("bench"),
            NewStaff {
                login: "bench-admin".into(),
                display_name: "管理员".into(),
                password: "bench-password".into(),
                role: GrantedRole::JurisdictionAdmin,
                region: RegionCode::parse("440000").ok(),
                site: None,
            },
        )
        .await
        .expect("staff");
        let out = app
            .login(
                &Ctx::new(Actor::Anonymous, "bench"),
                "bench-admin",
                "bench-password",
            )
            .await
            .expect("login");
        (app, out.token)
    });
    let mut group = c.benchmark_group("auth");
    group.sample_size(10);
    group.bench_function("login_argon2id_default_cost", |b| {
        b.to_async(&rt).iter(|| async {
            app.login(
                &Ctx::new(Actor::Anonymous, "bench"),
                "bench-admin",
                "bench-password",
            )
            .await
            .expect("login")
        })
    });
    group.finish();
    c.bench_function("auth/token_check_cached", |b| {
        b.to_async(&rt)
            .iter(|| async { app.authenticate(&token).await.expect("token") })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
