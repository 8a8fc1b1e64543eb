// refinery embeds migrations/ at compile time; cargo does not know that, so tell it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
