//! The test harness: a `TestApp` over the same `configure` that `serve` uses, a fresh SQLite
//! file per test, or a fresh PostgreSQL schema per test when `TEST_DATABASE_URL` is set.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service as _, ServiceResponse};
use actix_web::{test, App};
use provenance_ledger::accounts::Role;
use provenance_ledger::fingerprint::DecodeLimits;
use provenance_ledger::ledger::{LogKey, LogVerifier};
use provenance_ledger::metrics::Metrics;
use provenance_ledger::service::{Service, Settings};
use provenance_ledger::store::Store;
use serde_json::Value;

/// A database of its own for one test; dropping it removes the file or schema.
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
    schema: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => {
                let schema = format!("t_{}", hex::encode(rand_bytes()));
                psql(&base, &format!("CREATE SCHEMA {schema}"));
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                TestDb {
                    url,
                    _dir: dir,
                    schema: Some((base, schema)),
                }
            }
            _ => TestDb {
                url: format!("sqlite://{}", dir.path().join("test.db").display()),
                _dir: dir,
                schema: None,
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.schema.is_some()
    }

    /// Runs raw SQL against this test's database, for tests that tamper with storage.
    pub fn execute(&self, sql: &str) {
        use diesel::connection::SimpleConnection;
        let store = Store::open(&self.url).expect("open store");
        store.conn().expect("conn").batch_execute(sql).expect(sql);
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.schema {
            psql(base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

fn rand_bytes() -> [u8; 8] {
    use rand::RngCore;
    let mut b = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn psql(url: &str, sql: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut conn = diesel::pg::PgConnection::establish(url).expect("connect to TEST_DATABASE_URL");
    conn.batch_execute(sql).expect(sql);
}

pub const ORIGIN: &str = "test.example/provenance";

pub struct TestApp {
    pub db: Arc<TestDb>,
    pub key: LogKey,
    pub service: Arc<Service>,
    pub store: Store,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_batch(64).await
    }

    pub async fn with_batch(max_batch: usize) -> Self {
        Self::with_settings(max_batch, DecodeLimits::default().max_bytes).await
    }

    pub async fn with_settings(max_batch: usize, max_image_bytes: u64) -> Self {
        let key = LogKey::generate(ORIGIN).unwrap();
        let settings = Settings {
            max_batch,
            decode_limits: DecodeLimits {
                max_bytes: max_image_bytes,
                ..DecodeLimits::default()
            },
        };
        Self::start(Arc::new(TestDb::new()), key, settings)
    }

    fn start(db: Arc<TestDb>, key: LogKey, settings: Settings) -> Self {
        let store = Store::open(&db.url).expect("open store");
        let service = Service::start(
            store.clone(),
            key.clone(),
            provenance_ledger::licenses::LicenseSet::builtin(),
            settings,
            Arc::new(Metrics::default()),
        )
        .expect("start service");
        TestApp {
            db,
            key,
            service,
            store,
        }
    }

    /// Another service on the same database and key, as a second node would be.
    pub async fn second_node(&self) -> Self {
        Self::start(
            self.db.clone(),
            self.key.clone(),
            self.service.settings().clone(),
        )
    }

    pub fn verifier(&self) -> LogVerifier {
        self.key.verifier()
    }

    pub fn token(&self, name: &str, role: Role) -> String {
        self.service.create_account(name, role).expect("account").1
    }

    pub async fn call(&self, req: test::TestRequest) -> Reply {
        let app = test::init_service(
            App::new().configure(provenance_ledger::api::configure(self.service.clone())),
        )
        .await;
        let response: ServiceResponse = app.call(req.to_request()).await.expect("response");
        Reply::read(response).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(test::TestRequest::get().uri(uri)).await
    }

    pub async fn append_note(&self, token: &str, text: impl Into<String>) -> Reply {
        let text: String = text.into();
        self.call(
            test::TestRequest::post()
                .uri("/v1/log/entries")
                .insert_header(("Authorization", format!("Bearer {token}")))
                .set_json(serde_json::json!({ "text": text })),
        )
        .await
    }
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    async fn read<B: MessageBody>(response: ServiceResponse<B>) -> Self
    where
        B::Error: std::fmt::Debug,
    {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = test::read_body(response).await.to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// Asserts a JSON error with this status and code, and answers its message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(body["error"], code, "body: {body}");
        let message = body["message"].as_str().expect("message").to_owned();
        assert!(!message.is_empty());
        message
    }
}
