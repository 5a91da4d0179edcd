//! A folder of images: formats, classes from subfolders, centre crop and resize, the cache, and
//! files that cannot be decoded.

use dlp_core::data::folder::{self, CACHE_DIR};
use image::{ImageFormat, Rgb, RgbImage};
use std::path::Path;

/// An RGB image of `w`×`h` whose pixel (x, y) is `f(x, y)`.
fn save(path: &Path, w: u32, h: u32, format: ImageFormat, f: impl Fn(u32, u32) -> [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_fn(w, h, |x, y| Rgb(f(x, y)))
        .save_with_format(path, format)
        .unwrap();
}

#[test]
fn a_folder_of_mixed_formats_gives_classes_crops_and_caches() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Class "a": a wide PNG whose centre square is white between black margins; a BMP.
    save(&dir.join("a/wide.png"), 40, 20, ImageFormat::Png, |x, _| {
        if (10..30).contains(&x) {
            [255; 3]
        } else {
            [0; 3]
        }
    });
    save(&dir.join("a/flat.bmp"), 16, 16, ImageFormat::Bmp, |_, _| {
        [200, 100, 50]
    });
    // Class "b": a GIF and a JPEG (lossy: checked loosely), and a file that is not an image.
    save(&dir.join("b/g.gif"), 8, 8, ImageFormat::Gif, |_, _| {
        [0, 0, 255]
    });
    save(&dir.join("b/j.jpg"), 12, 12, ImageFormat::Jpeg, |_, _| {
        [128; 3]
    });
    std::fs::write(dir.join("b/notes.txt"), "ignored: not an image file name").unwrap();

    let f = folder::load(dir, 8, 3, false).unwrap();
    assert!(!f.cached);
    assert_eq!(f.classes, ["a", "b"]);
    // Files in sorted order: a/flat.bmp, a/wide.png, b/g.gif, b/j.jpg.
    assert_eq!(f.images.labels, [0, 0, 1, 1]);
    assert_eq!(
        (f.images.channels, f.images.height, f.images.width),
        (3, 8, 8)
    );
    let flat = f.images.image(0);
    assert!(flat[..64].iter().all(|&p| p == 200) && flat[64..128].iter().all(|&p| p == 100));
    // The wide image's centre square is all white: the margins were cropped away.
    assert!(
        f.images.image(1).iter().all(|&p| p == 255),
        "{:?}",
        f.images.image(1)
    );
    assert!(
        f.images.image(2)[128..].iter().all(|&p| p == 255),
        "the GIF is blue"
    );
    assert!(f.images.image(3).iter().all(|&p| p.abs_diff(128) <= 3));

    // Greyscale of the same folder is its own cache entry; the RGB one is read back.
    let grey = folder::load(dir, 8, 1, false).unwrap();
    assert_eq!(grey.images.image(1).len(), 64);
    let again = folder::load(dir, 8, 3, false).unwrap();
    assert!(again.cached);
    assert_eq!(again.images.images, f.images.images);
    assert!(dir.join(CACHE_DIR).join("8x3.safetensors").is_file());

    // A new file changes the key: decoded again, and in the set.
    save(&dir.join("b/k.png"), 8, 8, ImageFormat::Png, |_, _| [1; 3]);
    let changed = folder::load(dir, 8, 3, false).unwrap();
    assert!(!changed.cached);
    assert_eq!(changed.images.len(), 5);
}

#[test]
fn an_undecodable_file_is_named_and_skipped_only_when_lenient() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    save(&dir.join("one.png"), 4, 4, ImageFormat::Png, |_, _| [9; 3]);
    std::fs::write(dir.join("two.png"), b"this is not a PNG").unwrap();
    let err = folder::load(dir, 4, 1, false).unwrap_err().to_string();
    assert!(
        err.contains("two.png") && err.contains("--lenient"),
        "{err}"
    );
    let f = folder::load(dir, 4, 1, true).unwrap();
    assert_eq!(f.images.len(), 1);
    assert!(
        f.classes.is_empty(),
        "files directly in the folder: unlabelled"
    );
    assert_eq!(f.skipped.len(), 1);
    assert_eq!(f.skipped[0].0, "two.png");

    let empty = tempfile::tempdir().unwrap();
    let err = folder::load(empty.path(), 4, 1, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no image files"), "{err}");
    assert!(
        folder::load(dir, 4, 2, true).is_err(),
        "2 channels is refused"
    );
}
