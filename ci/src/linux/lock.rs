//! One filler of the cache at a time: [`CacheLock`] is a directory `<cache>/linux/.lock`
//! (created atomically with `mkdir`) holding the owner's process ID. A second process, or a
//! second thread of the same process, waits until it is removed; a lock whose process no
//! longer exists (`/proc/PID` absent: it was killed), or that has had no `pid` file for
//! 10 s, is taken over.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Threads of this process take turns here first (the directory names processes only).
static IN_PROCESS: Mutex<()> = Mutex::new(());

/// Held while the cache is being filled; dropping it releases the lock.
#[derive(Debug)]
pub struct CacheLock {
    dir: PathBuf,
    _thread: std::sync::MutexGuard<'static, ()>,
}

/// The process ID written in the lock directory `dir`, if readable.
fn owner(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether `dir` has had no readable `pid` for 10 s (its creator died before writing it).
fn stale_without_owner(dir: &Path) -> bool {
    std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > Duration::from_secs(10))
}

impl CacheLock {
    /// Takes the lock of `root` (created if needed), waiting for its holder.
    pub fn acquire(root: &Path) -> Result<Self, String> {
        // A thread that panicked while holding it left nothing half-written behind that the
        // temporary-name scheme does not already tolerate.
        let thread = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
        std::fs::create_dir_all(root).map_err(|e| format!("creating {}: {e}", root.display()))?;
        let dir = root.join(".lock");
        let mut said = false;
        loop {
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    std::fs::write(dir.join("pid"), std::process::id().to_string())
                        .map_err(|e| format!("writing {}/pid: {e}", dir.display()))?;
                    return Ok(Self {
                        dir,
                        _thread: thread,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    match owner(&dir) {
                        Some(pid) if !Path::new(&format!("/proc/{pid}")).exists() => {
                            eprintln!("ci: taking over {} (process {pid} is gone)", dir.display());
                            let _ = std::fs::remove_dir_all(&dir);
                            continue;
                        }
                        Some(pid) if !said => {
                            eprintln!(
                                "ci: waiting for process {pid}, which is filling {} (remove {} \
                                 if it is stuck)",
                                root.display(),
                                dir.display()
                            );
                            said = true;
                        }
                        None if stale_without_owner(&dir) => {
                            let _ = std::fs::remove_dir_all(&dir);
                            continue;
                        }
                        _ => {}
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(format!("creating {}: {e}", dir.display())),
            }
        }
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ci-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn held_then_released() {
        let root = scratch("held");
        let lock = CacheLock::acquire(&root).unwrap();
        assert_eq!(owner(&root.join(".lock")), Some(std::process::id()));
        drop(lock);
        assert!(!root.join(".lock").exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_dead_owner_is_taken_over() {
        let root = scratch("dead");
        std::fs::create_dir_all(root.join(".lock")).unwrap();
        // PIDs are below 2^22 on Linux: this one never exists.
        std::fs::write(root.join(".lock/pid"), "4294967295").unwrap();
        let lock = CacheLock::acquire(&root).unwrap();
        assert_eq!(owner(&root.join(".lock")), Some(std::process::id()));
        drop(lock);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn threads_take_turns() {
        let root = scratch("threads");
        let inside = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let (root, inside) = (root.clone(), inside.clone());
                std::thread::spawn(move || {
                    let _lock = CacheLock::acquire(&root).unwrap();
                    let n = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    n
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 0, "two holders at once");
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
