// `embed_migrations!` reads the migrations folder at compile time; without
// this, adding a migration would not rebuild the binary that embeds them.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
