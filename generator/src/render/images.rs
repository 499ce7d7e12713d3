//! Image helpers of the renderer; the id and depth image types and their PNG forms are part
//! of the record contract and live in `ipt_schema::images`.

use image::RgbImage;

pub use ipt_schema::images::{DepthImage, IdImage, color_id, id_color};

/// Whether every pixel of `image` has the same colour: a frame no renderer makes of a lit
/// room (walls and floors are shaded), the sign of a failed render.
pub fn one_colour(image: &RgbImage) -> bool {
    let mut pixels = image.pixels();
    let first = pixels.next();
    pixels.all(|p| Some(p) == first)
}
