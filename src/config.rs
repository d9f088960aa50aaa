//! Typed configuration: defaults < config file < `PROVENANCE_*` environment < flags.
//!
//! The CLI gathers the last two through clap (each flag names its variable) and hands the
//! result here as [`ConfigOverrides`]; nothing reads the environment or a global elsewhere.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything `serve` needs, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address to listen on, `host:port`.
    pub listen: String,
    /// Where the default SQLite database and the generated key live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; defaults to a SQLite file in the data directory.
    pub database_url: String,
    /// The log's origin, which is also its key's name. Used when a key is generated.
    pub origin: String,
    /// The log's signing key (Go signed-note private-key text, mode 0600).
    pub key_file: PathBuf,
    /// Most entries integrated in one sequencing round.
    pub max_batch: usize,
    /// HTTP worker threads; defaults to the number of cores.
    pub workers: Option<usize>,
    /// Licence contracts to use instead of the built-in set.
    pub licenses_dir: Option<PathBuf>,
    /// Largest image file accepted for upload and decoding.
    pub max_image_bytes: u64,
}

/// Values from the config file, the environment or flags; `None` leaves the lower layer's.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigOverrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub origin: Option<String>,
    pub key_file: Option<PathBuf>,
    pub max_batch: Option<usize>,
    pub workers: Option<usize>,
    pub licenses_dir: Option<PathBuf>,
    pub max_image_bytes: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "data";
pub const DEFAULT_ORIGIN: &str = "localhost/provenance";
pub const DEFAULT_MAX_BATCH: usize = 4096;
/// Room for a 100-megapixel JPEG at high quality.
pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 64 << 20;

impl ConfigOverrides {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// `self`, with every value `higher` sets replacing ours.
    pub fn overridden_by(self, higher: ConfigOverrides) -> ConfigOverrides {
        ConfigOverrides {
            listen: higher.listen.or(self.listen),
            data_dir: higher.data_dir.or(self.data_dir),
            database_url: higher.database_url.or(self.database_url),
            origin: higher.origin.or(self.origin),
            key_file: higher.key_file.or(self.key_file),
            max_batch: higher.max_batch.or(self.max_batch),
            workers: higher.workers.or(self.workers),
            licenses_dir: higher.licenses_dir.or(self.licenses_dir),
            max_image_bytes: higher.max_image_bytes.or(self.max_image_bytes),
        }
    }
}

impl Config {
    /// Fills in the defaults and checks the result.
    pub fn resolve(values: ConfigOverrides) -> Result<Self, ConfigError> {
        let data_dir = values
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let origin = values.origin.unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
        if !signed_note::is_key_name_valid(&origin) {
            return Err(ConfigError::Invalid {
                field: "origin",
                message: format!("{origin:?} must be non-empty, without spaces or '+'"),
            });
        }
        let max_batch = values.max_batch.unwrap_or(DEFAULT_MAX_BATCH);
        if max_batch == 0 {
            return Err(ConfigError::Invalid {
                field: "max_batch",
                message: "must be at least 1".into(),
            });
        }
        Ok(Config {
            listen: values.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            database_url: values
                .database_url
                .unwrap_or_else(|| crate::store::DatabaseUrl::sqlite_in(&data_dir)),
            key_file: values.key_file.unwrap_or_else(|| data_dir.join("log.key")),
            data_dir,
            origin,
            max_batch,
            workers: values.workers,
            licenses_dir: values.licenses_dir,
            max_image_bytes: values.max_image_bytes.unwrap_or(DEFAULT_MAX_IMAGE_BYTES),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_put_everything_in_the_data_dir() {
        let config = Config::resolve(ConfigOverrides::default()).unwrap();
        assert_eq!(config.listen, DEFAULT_LISTEN);
        assert_eq!(config.database_url, "sqlite://data/provenance.db");
        assert_eq!(config.key_file, PathBuf::from("data/log.key"));
    }

    #[test]
    fn higher_layers_win_and_unset_values_fall_through() {
        let file = ConfigOverrides {
            listen: Some("0.0.0.0:9000".into()),
            origin: Some("file.example/log".into()),
            ..Default::default()
        };
        let flags = ConfigOverrides {
            origin: Some("flag.example/log".into()),
            ..Default::default()
        };
        let config = Config::resolve(file.overridden_by(flags)).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.origin, "flag.example/log");
    }

    #[test]
    fn an_origin_that_cannot_name_a_key_is_refused() {
        let bad = ConfigOverrides {
            origin: Some("has space".into()),
            ..Default::default()
        };
        assert!(Config::resolve(bad).is_err());
    }

    #[test]
    fn unknown_config_file_keys_are_refused() {
        assert!(toml::from_str::<ConfigOverrides>("listen = \"x\"\nlisen = \"y\"").is_err());
    }
}
