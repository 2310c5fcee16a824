// Rebuild when a migration or a seed file changes: they are embedded with
// `embed_migrations!` and `include_str!`, which cargo does not track on its own
// for new files in a folder.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=../seed");
    println!("cargo:rerun-if-changed=../rules");
}
