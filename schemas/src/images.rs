//! Instance-id and depth images, and how they are stored as PNG in a record's
//! `images_ids` / `imagination_ids` and `images_depth` / `imagination_depth` columns.
//!
//! An id image is stored as an 8-bit RGB PNG with `id = r + 256 g + 65536 b` (0 = background
//! or structure). A depth image is stored as a 16-bit grey PNG in millimetres along the
//! viewing axis (0 = nothing within 65.5 m).

use image::{ImageBuffer, Luma, RgbImage};

/// The colour that encodes an object id in id renders and PNG files.
pub fn id_color(id: u32) -> [u8; 3] {
    [(id & 0xff) as u8, ((id >> 8) & 0xff) as u8, ((id >> 16) & 0xff) as u8]
}

/// The id an encoded colour stands for.
pub fn color_id(rgb: [u8; 3]) -> u32 {
    u32::from(rgb[0]) | (u32::from(rgb[1]) << 8) | (u32::from(rgb[2]) << 16)
}

/// Per-pixel object ids, row-major from the top-left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdImage {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// One id per pixel.
    pub ids: Vec<u32>,
}

impl IdImage {
    /// The id at pixel (x, y).
    pub fn get(&self, x: u32, y: u32) -> u32 {
        self.ids[(y * self.width + x) as usize]
    }

    /// Number of pixels showing `id`.
    pub fn count(&self, id: u32) -> usize {
        self.ids.iter().filter(|&&i| i == id).count()
    }

    /// Pixel counts per id, sorted by id.
    pub fn counts(&self) -> std::collections::BTreeMap<u32, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for &id in &self.ids {
            *counts.entry(id).or_insert(0) += 1;
        }
        counts
    }

    /// The PNG form (see the module docs).
    pub fn to_rgb(&self) -> RgbImage {
        RgbImage::from_fn(self.width, self.height, |x, y| image::Rgb(id_color(self.get(x, y))))
    }

    /// A picture for people: each id in a stable bright colour, background black.
    pub fn to_preview(&self) -> RgbImage {
        RgbImage::from_fn(self.width, self.height, |x, y| {
            let id = self.get(x, y);
            if id == 0 {
                return image::Rgb([0, 0, 0]);
            }
            let hash = id.wrapping_mul(2654435761);
            image::Rgb([64 + (hash >> 8) as u8 % 192, 64 + (hash >> 16) as u8 % 192, 64 + (hash >> 24) as u8 % 192])
        })
    }

    /// Reads the PNG form back.
    pub fn from_rgb(image: &RgbImage) -> IdImage {
        IdImage { width: image.width(), height: image.height(), ids: image.pixels().map(|p| color_id(p.0)).collect() }
    }

    /// Decodes a stored id image (the PNG bytes of an `images_ids` entry).
    pub fn decode_png(bytes: &[u8]) -> Result<IdImage, image::ImageError> {
        Ok(IdImage::from_rgb(&image::load_from_memory(bytes)?.into_rgb8()))
    }
}

/// Per-pixel depth in metres along the viewing axis; infinity where nothing was hit.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthImage {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// One depth per pixel, row-major from the top-left.
    pub metres: Vec<f32>,
}

impl DepthImage {
    /// The depth at pixel (x, y).
    pub fn get(&self, x: u32, y: u32) -> f32 {
        self.metres[(y * self.width + x) as usize]
    }

    /// A picture for people: near is bright, far is dark (scaled to the farthest pixel), nothing
    /// hit is black.
    pub fn to_preview(&self) -> image::GrayImage {
        let far = self.metres.iter().copied().filter(|d| d.is_finite()).fold(0.0f32, f32::max).max(1e-3);
        image::GrayImage::from_fn(self.width, self.height, |x, y| {
            let d = self.get(x, y);
            image::Luma([if d.is_finite() { (255.0 * (1.0 - 0.85 * d / far)) as u8 } else { 0 }])
        })
    }

    /// Decodes a stored depth image (the 16-bit PNG bytes of an `images_depth` entry): 0
    /// becomes infinity.
    pub fn decode_png(bytes: &[u8]) -> Result<DepthImage, image::ImageError> {
        let millimetres = image::load_from_memory(bytes)?.into_luma16();
        let metres = millimetres
            .pixels()
            .map(|p| if p.0[0] == 0 { f32::INFINITY } else { f32::from(p.0[0]) / 1000.0 })
            .collect();
        Ok(DepthImage { width: millimetres.width(), height: millimetres.height(), metres })
    }

    /// The PNG form: millimetres in 16 bits, 0 where nothing was hit or beyond 65.5 m.
    pub fn to_png16(&self) -> ImageBuffer<Luma<u16>, Vec<u16>> {
        ImageBuffer::from_fn(self.width, self.height, |x, y| {
            let mm = (self.get(x, y) * 1000.0).round();
            Luma([if mm.is_finite() && (1.0..65535.0).contains(&mm) { mm as u16 } else { 0 }])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_colours_round_trip() {
        for id in [0, 1, 255, 256, 70_000, 0xff_ffff] {
            assert_eq!(color_id(id_color(id)), id);
        }
        let image = IdImage { width: 2, height: 1, ids: vec![3, 300] };
        assert_eq!(IdImage::from_rgb(&image.to_rgb()), image);
        let mut png = Vec::new();
        image.to_rgb().write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        assert_eq!(IdImage::decode_png(&png).unwrap(), image);
        assert!(IdImage::decode_png(b"not a png").is_err());
    }

    #[test]
    fn depth_png_is_millimetres() {
        let depth = DepthImage { width: 3, height: 1, metres: vec![1.2345, f32::INFINITY, 70.0] };
        let png = depth.to_png16();
        assert_eq!(png.get_pixel(0, 0).0[0], 1235);
        assert_eq!(png.get_pixel(1, 0).0[0], 0);
        assert_eq!(png.get_pixel(2, 0).0[0], 0);
        let mut bytes = Vec::new();
        png.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        let back = DepthImage::decode_png(&bytes).unwrap();
        assert_eq!(back.metres[0], 1.235);
        assert!(back.metres[1].is_infinite() && back.metres[2].is_infinite());
    }
}
