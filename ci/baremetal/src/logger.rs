//! A `log` backend that prints `[LEVEL target] message` lines on the console.

use log::{LevelFilter, Log, Metadata, Record};

struct ConsoleLogger;

impl Log for ConsoleLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            crate::println!("[{} {}] {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {
        crate::console::flush();
    }
}

static LOGGER: ConsoleLogger = ConsoleLogger;

/// Installs the console logger with the given maximum level (done at boot with `Info`).
pub fn init(level: LevelFilter) {
    // An error means a logger is already installed, which is fine.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
