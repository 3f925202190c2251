//! The runtime-independent state of a framework app: its configuration, [`Hub`], endpoint
//! table, plugins and the runtime's running server, with the plugin lifecycle. A runtime's
//! `App` is a cheap handle around an `Arc<AppCore<…>>` and adds serving.

use super::app::{Endpoints, Hub};
use super::context::AppData;
use super::plugins::Plugin;
use super::{ConfigError, ServerConfig};
use crate::engine::sio::SioSession;
use std::sync::{Arc, Mutex, MutexGuard};

/// One app's shared state. `H` is the runtime's session handle, `C` its controller type,
/// `A` its app handle (what plugins see) and `R` what it keeps of a running server.
pub struct AppCore<H, C, A, R> {
    config: ServerConfig,
    hub: Arc<Hub<H>>,
    endpoints: Arc<Endpoints<C>>,
    plugins: Mutex<Vec<Arc<dyn Plugin<A>>>>,
    running: Mutex<Option<R>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<H: SioSession, C, A, R> AppCore<H, C, A, R> {
    /// The state of an app for `config` (validated: a bad configuration is a typed error),
    /// with the app context `data`, not running.
    pub fn new(config: ServerConfig, data: AppData) -> Result<Self, ConfigError> {
        config.validate()?;
        let hub = Hub::new(config.response_policy(), data);
        Ok(AppCore {
            config,
            hub,
            endpoints: Arc::new(Endpoints::default()),
            plugins: Mutex::new(Vec::new()),
            running: Mutex::new(None),
        })
    }
}

impl<H, C, A, R> AppCore<H, C, A, R> {
    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The hub.
    pub fn hub(&self) -> &Arc<Hub<H>> {
        &self.hub
    }

    /// The endpoint table.
    pub fn endpoints(&self) -> &Arc<Endpoints<C>> {
        &self.endpoints
    }

    /// The running server, if started (locked).
    pub fn running(&self) -> MutexGuard<'_, Option<R>> {
        lock(&self.running)
    }

    /// GOSF's `RegisterPlugin`: adds `plugin`, activated at once on `app` if the server runs.
    pub fn register_plugin(&self, app: &A, plugin: Arc<dyn Plugin<A>>) {
        lock(&self.plugins).push(plugin.clone());
        if self.running().is_some() {
            plugin.activate(app);
        }
    }

    /// Activates every plugin on `app`, in registration order (the server starts).
    pub fn activate_plugins(&self, app: &A) {
        let plugins = lock(&self.plugins).clone();
        for p in &plugins {
            tracing::debug!("gosf: activating plugin {}", p.name());
            p.activate(app);
        }
    }

    /// Deactivates every plugin on `app`, in registration order (shutdown).
    pub fn deactivate_plugins(&self, app: &A) {
        let plugins = lock(&self.plugins).clone();
        for p in &plugins {
            p.deactivate(app);
        }
    }
}
