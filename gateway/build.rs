// Rebuild when a migration, a catalogue or a template changes or is added (sqlx::migrate!,
// fluent-templates' static_loader and askama embed them at compile time; a new file in a
// folder is not in the compiler's dependency list otherwise).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=locales");
    println!("cargo:rerun-if-changed=templates");
}
