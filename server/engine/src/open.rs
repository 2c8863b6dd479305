//! Opening an index: take the lock and write it (repairing what a crash left), or find
//! it locked and follow the process that writes it; and giving an open engine its
//! embedding model later.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use parking_lot::{Mutex, RwLock};
use scry_index::SymbolCache;
use scry_models::{Embedder, ModelError};

use crate::discover::Discovery;
use crate::snapshot::View;
use crate::state::{Inner, Log, Model, Overlays, Role, Setup, WriterState};
use crate::tier::{PerTier, Tier};
use crate::writer::Writer;
use crate::{Engine, EngineConfig, EngineError};
use crate::{follow, read_only};

/// Said while an engine opened with [`Engine::open_lexical`] waits for its model.
pub(crate) const MODEL_LOADING: &str = "the embedding model is loading";
pub(crate) const NO_MODEL: &str = "no embedding model is configured";
/// Said of a full tier a one-shot command leaves unloaded.
pub(crate) const FULL_DEFERRED: &str =
    "not loaded by this command: it searches BM25 and the fast tier";

/// Each tier's embedder as the caller loaded it: the model, or why there is none;
/// `None` when it is not loaded yet.
pub(crate) type Loaded = Option<Result<Arc<dyn Embedder>, ModelError>>;

/// The state of a tier's model: what the caller loaded, else `pending`.
fn model_of(loaded: Loaded, pending: Model) -> Model {
    match loaded {
        Some(Ok(e)) => Model::Loaded(e),
        Some(Err(e)) => Model::Unavailable(e.to_string()),
        None => pending,
    }
}

/// A tier's state before its model is in: loading, left unloaded, or not configured.
fn pending(configured: bool, deferred: bool) -> Model {
    match (configured, deferred) {
        (false, _) => Model::Off,
        (true, true) => Model::Deferred,
        (true, false) => Model::Unavailable(MODEL_LOADING.into()),
    }
}

pub(crate) fn open(config: EngineConfig, loaded: PerTier<Loaded>) -> Result<Engine, EngineError> {
    let (roots, dir) = crate::location::locate(&config)?;
    let (lock_file, writes) = if config.read_only {
        (None, false)
    } else {
        let lock_file = lock_file(&dir)?;
        let writes = follow::try_lock(&lock_file, &dir.join("lock"))?;
        if !writes && !config.follow_when_locked {
            return Err(EngineError::Locked(dir));
        }
        (Some(lock_file), writes)
    };
    let PerTier { fast, full } = loaded;
    let models = PerTier {
        fast: model_of(fast, pending(config.fast_embedder.is_some(), false)),
        full: model_of(
            full,
            pending(config.embedder.is_some(), config.defers_full_tier()),
        ),
    };
    let mut notices = Vec::new();
    let (role, view) = if writes {
        let writer = Writer::open(
            &dir,
            roots.roots(),
            models.map(|_, m| m.embedder().map(|e| e.as_ref())),
            &mut notices,
        )?;
        for n in &notices {
            tracing::warn!("{n}");
        }
        let view = View::of_writer(&writer, Overlays::default(), &models)?;
        let state = WriterState {
            writer,
            overlays: Overlays::default(),
        };
        (Role::Writer(Box::new(state)), view)
    } else if config.read_only {
        (Role::Follower(Box::default()), View::empty(models.clone()))
    } else {
        let pid = lock_file
            .as_ref()
            .and_then(follow::writer_pid)
            .map_or(String::new(), |p| format!(" (pid {p})"));
        notices.push(format!(
            "{}{pid}{}",
            follow::FOLLOWING,
            follow::FOLLOWING_DETAIL
        ));
        tracing::info!("{}{pid}", follow::FOLLOWING);
        (Role::Follower(Box::default()), View::empty(models.clone()))
    };
    let discovery = Discovery::new(&config, &dir);
    let engine = Engine {
        inner: Arc::new(Inner {
            setup: Arc::new(Setup {
                config,
                roots,
                dir,
                discovery,
                symbol_cache: SymbolCache::default(),
            }),
            role: Mutex::new(role),
            writes: AtomicBool::new(writes),
            models: RwLock::new(models),
            published: RwLock::new(Arc::new(view)),
            log: Mutex::new(Log {
                notices,
                embedded: 0,
            }),
            lock_file,
        }),
    };
    if engine.inner.setup.config.read_only {
        read_only::load(&engine);
    } else if !writes {
        // The writer may have died in between: this takes over, or loads its index.
        engine.follow()?;
    }
    Ok(engine)
}

/// The index directory's lock file, created with the directory when missing.
fn lock_file(dir: &std::path::Path) -> Result<std::fs::File, EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let path = dir.join("lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| EngineError::io(&path, e))
}

pub(crate) fn attach_embedder(
    engine: &Engine,
    tier: Tier,
    embedder: Result<Arc<dyn Embedder>, ModelError>,
) -> Result<(), EngineError> {
    let inner = &engine.inner;
    let model = model_of(Some(embedder), Model::Off);
    let mut role = inner.role.lock();
    let before = std::mem::replace(inner.models.write().get_mut(tier), model.clone());
    match &mut *role {
        Role::Writer(state) => {
            let mut notices = Vec::new();
            state
                .writer
                .attach_model(tier, model.embedder().map(|e| e.as_ref()), &mut notices)?;
            for n in notices {
                inner.notice(n);
            }
            inner.publish(state)
        }
        // A tier that was expected had its vectors read with the generation: only the
        // models change. One that was not is read now.
        Role::Follower(follow) => {
            if matches!(before, Model::Off | Model::Deferred) {
                return follow::reread(engine, follow).map(|_| ());
            }
            let models = inner.models.read().clone();
            let view = inner.published.read().with_models(models);
            *inner.published.write() = Arc::new(view);
            Ok(())
        }
    }
}
