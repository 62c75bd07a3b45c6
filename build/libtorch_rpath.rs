//! Build script shared by every crate whose tests or binaries link libtorch.
//! It also passes libtorch's version to the code as `DANCENOW_LIBTORCH_VERSION`.
//!
//! torch-sys links against `$LIBTORCH/lib` but leaves finding it at run time to the
//! user. We record the folder as an rpath so `cargo test` and `target/*/dancenow`
//! run without `LD_LIBRARY_PATH`. A CUDA libtorch is linked with `--no-as-needed`,
//! because nothing references `libtorch_cuda.so` directly and the linker would
//! otherwise drop it, leaving CUDA invisible at run time.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        return;
    };
    // Setup rewrites this stamp when it swaps a CPU libtorch for a CUDA one or back.
    println!(
        "cargo:rerun-if-changed={}",
        libtorch.join(".installed").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        libtorch.join("build-version").display()
    );
    if let Ok(version) = std::fs::read_to_string(libtorch.join("build-version")) {
        println!(
            "cargo:rustc-env=DANCENOW_LIBTORCH_VERSION={}",
            version.trim()
        );
    }
    let lib = libtorch.join("lib");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
