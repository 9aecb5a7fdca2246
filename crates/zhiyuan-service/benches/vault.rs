//! What registration and seeding pay per volunteer: parsing the document, sealing it
//! (AES-256-GCM + HMAC-SHA256 + mask) and drawing a volunteer number.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use std::hint::black_box;
use zhiyuan_domain::document::{DocumentKind, IdDocument};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_service::Vault;

fn bench(c: &mut Criterion) {
    let vault = Vault::new(&[9; 32]);
    let doc = IdDocument::parse(DocumentKind::MainlandId, "11010519491231002X", None)
        .expect("the standard example is valid");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    c.bench_function("document_parse_mainland_id", |b| {
        b.iter(|| {
            IdDocument::parse(
                DocumentKind::MainlandId,
                black_box("11010519491231002X"),
                None,
            )
        })
    });
    c.bench_function("vault_seal", |b| {
        b.iter(|| vault.seal(black_box(&doc), &mut rng))
    });
    let mut i = 0u64;
    c.bench_function("volunteer_number_from_index", |b| {
        b.iter(|| {
            i += 1;
            VolunteerNumber::from_index(black_box(i), 42)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
