//! `ipt-gen templates`: list what is loaded, so a user can check their own files were found.

use anyhow::Result;
use ipt_scenes::AssetSources;

/// Runs `ipt-gen templates`.
pub fn run(sources: &AssetSources) -> Result<()> {
    let assets = super::load_assets(sources)?;
    println!("templates:");
    for name in assets.template_names() {
        let template = assets.template(&name)?;
        let rooms: Vec<&str> = template.rooms.iter().map(|r| r.room.name.as_str()).collect();
        println!("  {name:<20} {:<20} rooms: {}   ({})", template.display, rooms.join(", "), template.file.display());
    }
    println!("categories ({}):", assets.catalog.len());
    for category in assets.catalog.iter() {
        let s = category.size;
        let role = if category.is_receptacle() { "receptacle" } else { "" };
        println!("  {:<18} {:<18} {:.2} x {:.2} x {:.2} m  {role}", category.name, category.display, s.x, s.y, s.z);
    }
    println!("materials: {}", assets.materials.len());
    Ok(())
}
