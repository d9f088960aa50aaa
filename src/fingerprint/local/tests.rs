//! Local features end to end: real photographs (the PDQ fixtures under `contracts/`) and
//! generated textures, put through crops, a small rotation, overlays, resizing and JPEG
//! recompression whose geometry is known, then encoded, decoded by the same code as uploads
//! and matched. The recovered transform must be the true one; look-alikes must not match.

use std::io::Cursor;
use std::path::PathBuf;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{ImageFormat, Rgb, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_filled_rect_mut, draw_line_segment_mut};
use imageproc::geometric_transformations::{rotate_about_center, Border, Interpolation};
use imageproc::rect::Rect;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::super::decode::{decode, DecodeLimits};
use super::scene::scene;
use super::*;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("contracts/pdq-fixtures")
        .join(name)
}

fn fixture(name: &str) -> RgbImage {
    let path = fixture_path(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

/// Photographs among the fixtures, with enough structure to carry local features.
const PHOTOS: [&str; 8] = [
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.jpg",
    "coins.png",
    "rocket.jpg",
    "hubble.png",
    "grass.png",
];

fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

/// Features of encoded bytes, through the upload path's decoder.
fn features(bytes: &[u8]) -> LocalFeatures {
    extract(&decode(bytes, &DecodeLimits::default()).unwrap())
}

/// `crop` then resize to `(to_w, to_h)`: returns the image and the transform from the
/// original's pixel coordinates to the result's (pixel centres at integer + 0.5 scaling).
fn crop_resize(
    img: &RgbImage,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    to: Option<(u32, u32)>,
) -> (RgbImage, Similarity) {
    let cropped = imageops::crop_imm(img, x, y, w, h).to_image();
    let Some((tw, th)) = to else {
        return (
            cropped,
            Similarity {
                translation: [-f64::from(x), -f64::from(y)],
                ..Similarity::identity()
            },
        );
    };
    let resized = imageops::resize(&cropped, tw, th, FilterType::Triangle);
    let s = (f64::from(tw) / f64::from(w) + f64::from(th) / f64::from(h)) / 2.0;
    (
        resized,
        Similarity {
            scale: s,
            angle_degrees: 0.0,
            translation: [
                (-f64::from(x) + 0.5) * s - 0.5,
                (-f64::from(y) + 0.5) * s - 0.5,
            ],
            reflected: false,
        },
    )
}

/// A corner logo: a disc, a box and strokes, about a fifth of the width.
fn watermark(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = out.dimensions();
    let (x0, y0) = (w as i32 * 3 / 4, h as i32 * 3 / 4);
    draw_filled_circle_mut(&mut out, (x0 + 14, y0 + 14), 12, Rgb([250, 250, 250]));
    draw_filled_rect_mut(
        &mut out,
        Rect::at(x0 + 30, y0 + 4).of_size(w / 8, 20),
        Rgb([20, 20, 200]),
    );
    for i in 0..6 {
        let x = (x0 + 32 + i * 6) as f32;
        draw_line_segment_mut(
            &mut out,
            (x, y0 as f32 + 6.0),
            (x + 3.0, y0 as f32 + 20.0),
            Rgb([255, 255, 0]),
        );
    }
    out
}

/// A caption bar over the bottom 15%: dark, with light "letters".
fn caption_bar(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = out.dimensions();
    let top = h - h * 15 / 100;
    draw_filled_rect_mut(
        &mut out,
        Rect::at(0, top as i32).of_size(w, h - top),
        Rgb([15, 15, 25]),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut x = 8.0f32;
    while x < w as f32 - 12.0 {
        let y = top as f32 + 6.0;
        let tall = rng.gen_range(6.0..(h - top) as f32 - 10.0);
        draw_line_segment_mut(
            &mut out,
            (x, y),
            (x + rng.gen_range(-3.0..3.0), y + tall),
            Rgb([235, 235, 235]),
        );
        x += rng.gen_range(4.0..9.0);
    }
    out
}

/// The transformed copies of `img` a rights holder cares about, each with the true transform
/// from the original's coordinates to the copy's (after decoding).
fn copies(img: &RgbImage) -> Vec<(&'static str, Vec<u8>, Similarity)> {
    let (w, h) = img.dimensions();
    let mut out = Vec::new();
    let pct = |v: u32, p: u32| v * p / 100;
    let (c, t) = crop_resize(
        img,
        pct(w, 3),
        pct(h, 2),
        w - pct(w, 5),
        h - pct(h, 5),
        None,
    );
    out.push(("crop_5", png(&c), t));
    let (c, t) = crop_resize(
        img,
        pct(w, 7),
        pct(h, 8),
        w - pct(w, 15),
        h - pct(h, 15),
        Some((w, h)),
    );
    out.push(("crop_15_resized_back", png(&c), t));
    let (c, t) = crop_resize(img, pct(w, 20), 0, w - pct(w, 20), h - pct(h, 20), None);
    out.push(("crop_20_asymmetric", png(&c), t));
    let (c, t) = crop_resize(
        img,
        0,
        pct(h, 20),
        w - pct(w, 20),
        h - pct(h, 20),
        Some((w, h)),
    );
    out.push(("crop_20_asymmetric_resized_back", jpeg(&c, 85), t));
    let theta = 5f32.to_radians();
    let rotated = rotate_about_center(
        img,
        theta,
        Interpolation::Bilinear,
        Border::Constant(Rgb([0, 0, 0])),
    );
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let (s, co) = f64::from(theta).sin_cos();
    out.push((
        "rotate_5",
        png(&rotated),
        Similarity {
            scale: 1.0,
            angle_degrees: 5.0,
            translation: [cx - (co * cx - s * cy), cy - (s * cx + co * cy)],
            reflected: false,
        },
    ));
    out.push((
        "corner_watermark",
        png(&watermark(img)),
        Similarity::identity(),
    ));
    out.push((
        "caption_bar",
        jpeg(&caption_bar(img), 80),
        Similarity::identity(),
    ));
    let (c, t) = crop_resize(img, 0, 0, w, h, Some((w * 6 / 10, h * 6 / 10)));
    out.push(("resize_60", png(&c), t));
    out.push(("jpeg_q40", jpeg(img, 40), Similarity::identity()));
    out
}

/// The recovered transform may put a work point at most this far (query pixels) from where the
/// true one does, anywhere on the work: below the inlier tolerance (5), about twice the worst
/// measured on these copies (1.6, docs/matching.md).
const MAX_TRANSFORM_ERROR: f64 = 3.0;

/// Largest distance (query pixels) between where `found` and `truth` put the work's points,
/// over a grid covering the work.
fn transform_error(found: &Similarity, truth: &Similarity, width: u32, height: u32) -> f64 {
    let mut worst = 0f64;
    for i in 0..=4 {
        for j in 0..=4 {
            let p = [
                f64::from(width) * i as f64 / 4.0,
                f64::from(height) * j as f64 / 4.0,
            ];
            let (a, b) = (found.apply(p), truth.apply(p));
            worst = worst.max((a[0] - b[0]).hypot(a[1] - b[1]));
        }
    }
    worst
}

#[test]
fn copies_are_matched_with_the_true_transform() {
    let params = GeometryParams::default();
    let mut works: Vec<(String, RgbImage)> =
        PHOTOS.iter().map(|n| (n.to_string(), fixture(n))).collect();
    works.push(("scene-512x384".into(), scene(512, 384, 1)));
    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut worst_error = 0f64;
    let mut min_inliers = usize::MAX;
    for (name, img) in &works {
        let work = features(&png(img));
        for (kind, bytes, truth) in copies(img) {
            let query = features(&bytes);
            let v = verify_pair(&query, &work, &params);
            let error = v
                .transform
                .map(|t| transform_error(&t, &truth, img.width(), img.height()));
            report.push(format!(
                "{name} {kind}: {:?} inliers {} of {} matches, error {:?} px; found {:?} true {:?}",
                v.decision, v.inliers, v.matches, error, v.transform, truth
            ));
            match (v.is_match(), error) {
                (true, Some(e)) if e <= MAX_TRANSFORM_ERROR => {
                    worst_error = worst_error.max(e);
                    min_inliers = min_inliers.min(v.inliers);
                }
                _ => failures.push(report.last().unwrap().clone()),
            }
        }
    }
    eprintln!(
        "{}\nworst transform error {worst_error:.2} px; fewest inliers of a match {min_inliers}",
        report.join("\n")
    );
    assert!(
        failures.is_empty(),
        "missed or misplaced:\n{}",
        failures.join("\n")
    );
}

#[test]
fn look_alikes_are_not_matched() {
    let params = GeometryParams::default();
    let mut works: Vec<(String, LocalFeatures)> = PHOTOS
        .iter()
        .map(|n| (n.to_string(), features(&png(&fixture(n)))))
        .collect();
    works.push(("scene 1".into(), features(&png(&scene(512, 384, 1)))));
    let noise = |seed: u64, dark: bool| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let top = if dark { 24 } else { 255 };
        RgbImage::from_fn(320, 240, |_, _| {
            let v = rng.gen_range(0..=top);
            Rgb([v, v, v])
        })
    };
    let mut dark_astronaut = fixture("astronaut.png");
    for p in dark_astronaut.pixels_mut() {
        for c in &mut p.0 {
            *c /= 10;
        }
    }
    let mut queries: Vec<(String, Vec<u8>)> = PHOTOS
        .iter()
        .map(|n| (n.to_string(), png(&fixture(n))))
        .collect();
    for extra in [
        "dark-noise.png",
        "flat.png",
        "stripes.png",
        "shapes.png",
        "retina.png",
    ] {
        queries.push((extra.into(), png(&fixture(extra))));
    }
    queries.push(("scene 2".into(), png(&scene(512, 384, 2))));
    queries.push(("scene 3 (jpeg)".into(), jpeg(&scene(400, 300, 3), 60)));
    queries.push(("noise".into(), png(&noise(1, false))));
    queries.push(("dark noise".into(), png(&noise(2, true))));
    queries.push((
        "flat grey".into(),
        png(&RgbImage::from_pixel(300, 200, Rgb([90, 90, 90]))),
    ));
    let mut most = 0;
    for (qname, bytes) in &queries {
        let query = features(bytes);
        for (wname, work) in &works {
            if qname == wname {
                continue;
            }
            let v = verify_pair(&query, work, &params);
            assert!(!v.is_match(), "{qname} matched {wname}: {v:?}");
            most = most.max(v.inliers);
        }
    }
    // The dark copy of a work is a copy, not a look-alike: it is the one match allowed here.
    let dark = features(&png(&dark_astronaut));
    eprintln!(
        "most inliers between unrelated images: {most}; dark astronaut vs astronaut: {:?}",
        verify_pair(&dark, &works[0].1, &params)
    );
    assert!(
        most < params.min_inliers / 2,
        "unrelated pairs came close: {most} inliers"
    );
}

#[test]
fn search_finds_the_work_through_the_candidate_index() {
    let params = GeometryParams::default();
    let mut registry: Vec<(u64, RgbImage, LocalFeatures)> = Vec::new();
    for (i, n) in PHOTOS.iter().enumerate() {
        let img = fixture(n);
        let f = features(&png(&img));
        registry.push((100 + i as u64, img, f));
    }
    for seed in 10..30 {
        let img = scene(384, 288, seed);
        let f = features(&png(&img));
        registry.push((seed, img, f));
    }
    let mut index = CandidateIndex::default();
    for (id, _, f) in &registry {
        index.insert(*id, f);
    }
    let lookup = |id: u64| registry.iter().find(|r| r.0 == id).map(|r| r.2.clone());
    let mut found = 0;
    let mut total = 0;
    for (id, img, _) in registry.iter().step_by(3) {
        for (kind, bytes, _) in copies(img) {
            total += 1;
            let hits = search(&index, &features(&bytes), VERIFY_TOP, &params, lookup);
            let matched: Vec<u64> = hits
                .iter()
                .filter(|h| h.verification.is_match())
                .map(|h| h.work)
                .collect();
            assert!(
                matched.len() <= 1,
                "{id} {kind}: several works matched: {matched:?}"
            );
            if matched == [*id] {
                found += 1;
            } else {
                eprintln!("{id} {kind}: not found through the index ({hits:?})");
            }
        }
    }
    eprintln!("found through the index: {found} of {total}");
    assert_eq!(found, total);
    // Unregistered pictures find nothing.
    for seed in 40..45 {
        let hits = search(
            &index,
            &features(&png(&scene(384, 288, seed))),
            VERIFY_TOP,
            &params,
            lookup,
        );
        assert!(hits.iter().all(|h| !h.verification.is_match()), "{hits:?}");
    }
}

#[test]
fn serialised_features_round_trip_within_8_kib() {
    let mut sizes = Vec::new();
    let mut images: Vec<RgbImage> = PHOTOS.iter().map(|n| fixture(n)).collect();
    images.push(scene(512, 384, 1));
    // Larger than the working size: shrunk to 512 first.
    images.push(imageops::resize(
        &scene(512, 384, 4),
        1600,
        1200,
        FilterType::Triangle,
    ));
    for img in &images {
        let f = features(&jpeg(img, 90));
        assert!(f.features.len() <= MAX_FEATURES);
        assert!(usize::from(f.width.max(f.height)) <= MAX_SIDE);
        let bytes = f.to_bytes();
        assert!(bytes.len() <= 8 * 1024, "{} bytes", bytes.len());
        assert_eq!(LocalFeatures::from_bytes(&bytes).unwrap(), f);
        assert!(!f.appearance.is_empty());
        sizes.push((f.features.len(), bytes.len()));
    }
    eprintln!("features and serialised sizes: {sizes:?}");
    // Textured pictures fill the budget of features.
    assert!(
        sizes.iter().filter(|&&(n, _)| n == MAX_FEATURES).count() >= 5,
        "{sizes:?}"
    );
}

#[test]
fn malformed_feature_bytes_are_refused_with_the_reason() {
    let f = features(&png(&fixture("camera.png")));
    let bytes = f.to_bytes();
    assert_eq!(
        LocalFeatures::from_bytes(&bytes[..5]),
        Err(LocalFeaturesError::NotLocalFeatures)
    );
    let mut other = bytes.clone();
    other[3] = 4;
    assert_eq!(
        LocalFeatures::from_bytes(&other),
        Err(LocalFeaturesError::UnsupportedVersion(4))
    );
    // A luma grid one column short of the image's shape, and a chroma grid one row short.
    let a = &f.appearance;
    let mut narrow = f.clone();
    narrow.appearance.width -= 1;
    narrow.appearance.cells = a
        .cells
        .chunks(usize::from(a.width))
        .flat_map(|row| row[1..].to_vec())
        .collect();
    let mut short = f.clone();
    short.appearance.chroma_height -= 1;
    short
        .appearance
        .chroma
        .truncate(usize::from(a.chroma_width) * usize::from(a.chroma_height - 1));
    for (bad, (width, height, chroma_width, chroma_height)) in [
        (
            narrow,
            (a.width - 1, a.height, a.chroma_width, a.chroma_height),
        ),
        (
            short,
            (a.width, a.height, a.chroma_width, a.chroma_height - 1),
        ),
    ] {
        assert_eq!(
            LocalFeatures::from_bytes(&bad.to_bytes()),
            Err(LocalFeaturesError::BadAppearance {
                width,
                height,
                chroma_width,
                chroma_height
            })
        );
    }
    assert!(matches!(
        LocalFeatures::from_bytes(&bytes[..bytes.len() - 1]),
        Err(LocalFeaturesError::WrongLength { .. })
    ));
    let mut outside = bytes.clone();
    outside[10..12].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(matches!(
        LocalFeatures::from_bytes(&outside),
        Err(LocalFeaturesError::FeatureOutOfBounds { index: 0, .. })
    ));
    let mut many = bytes;
    many[8..10].copy_from_slice(&201u16.to_le_bytes());
    assert_eq!(
        LocalFeatures::from_bytes(&many),
        Err(LocalFeaturesError::TooManyFeatures { count: 201 })
    );
}

#[test]
fn features_stored_before_the_appearance_grid_are_still_read() {
    let f = features(&png(&fixture("camera.png")));
    let mut v1 = f.to_bytes();
    v1[3] = 1;
    v1.truncate(10 + 38 * f.features.len());
    let read = LocalFeatures::from_bytes(&v1).unwrap();
    assert_eq!(read.features, f.features);
    assert!(read.appearance.is_empty());
    // Such a work is verified by its keypoints alone.
    let v = verify_pair(&f, &read, &GeometryParams::default());
    assert!(v.is_match());
    assert_eq!(v.appearance, None);
}

#[test]
fn features_stored_before_the_chroma_grid_are_still_read() {
    let f = features(&png(&fixture("camera.png")));
    assert!(f.appearance.has_chroma());
    let mut v2 = f.to_bytes();
    v2[3] = 2;
    v2.truncate(v2.len() - 2 - 2 * f.appearance.chroma.len());
    let read = LocalFeatures::from_bytes(&v2).unwrap();
    assert_eq!(read.features, f.features);
    assert_eq!(read.appearance.cells, f.appearance.cells);
    assert!(!read.appearance.has_chroma());
    // Format 2 stored 24 x 24 grids: that shape is still accepted.
    let old = LocalFeatures {
        width: 512,
        height: 512,
        features: Vec::new(),
        appearance: Appearance {
            width: 24,
            height: 24,
            cells: vec![100; 24 * 24],
            ..Appearance::default()
        },
        uncovered: None,
        filled_corners: false,
    };
    let mut bytes = old.to_bytes();
    bytes[3] = 2;
    bytes.truncate(bytes.len() - 2);
    assert_eq!(
        LocalFeatures::from_bytes(&bytes).unwrap().appearance.width,
        24
    );
}

#[test]
fn a_flat_image_has_no_features_and_matches_nothing() {
    let flat = features(&png(&RgbImage::from_pixel(300, 200, Rgb([120, 130, 140]))));
    assert!(flat.features.is_empty());
    let v = verify_pair(&flat, &flat, &GeometryParams::default());
    assert_eq!(v.decision, LocalDecision::NoMatch(Rejection::TooFewMatches));
}

#[test]
fn the_evidence_names_the_part_of_the_work_a_crop_shows() {
    let img = fixture("astronaut.png");
    let (w, h) = img.dimensions();
    let work = features(&png(&img));
    // The right 80% and the top 80% of the work, enlarged back to the work's size.
    let (x, crop_h) = (w / 5, h * 4 / 5);
    let (copy, _) = crop_resize(&img, x, 0, w - x, crop_h, Some((w, h)));
    let query = features(&jpeg(&copy, 85));
    let verification = verify_pair(&query, &work, &GeometryParams::default());
    let evidence = LocalEvidence::of(&verification, &query, &work).expect("a match");
    let [left, top, right, bottom] = evidence.work_region;
    let near = |a: f64, b: f64| (a - b).abs() < 0.02;
    assert!(
        near(left, 0.2) && near(top, 0.0) && near(right, 1.0) && near(bottom, 0.8),
        "{evidence:?}"
    );
    assert!(evidence.rotation_degrees.abs() < 1.0, "{evidence:?}");
    // Each side of the copy is the crop's side enlarged back by 1 / 0.8.
    assert!((evidence.scale - 1.25).abs() < 0.03, "{evidence:?}");
    assert!(evidence.inliers >= 12 && evidence.inliers <= evidence.correspondences);
    // No evidence without a match.
    let unrelated = features(&png(&fixture("coins.png")));
    let refused = verify_pair(&unrelated, &work, &GeometryParams::default());
    assert_eq!(LocalEvidence::of(&refused, &unrelated, &work), None);
}

#[test]
fn stored_features_of_the_photo_fixtures_are_pinned() {
    // Features are stored at registration and compared with every later upload's, so any
    // change to what extraction computes (a filter, a threshold, rounding) must come with a
    // new LOCAL_ALGORITHM_VERSION and these digests. The keypoints' digest is of their bytes
    // in format 1 (before the appearance grid was appended), pinned on the code before the
    // filters were rewritten for speed (190998f), which gives the same bytes.
    use sha2::{Digest, Sha256};
    let (mut keypoints, mut grids) = (Sha256::new(), Sha256::new());
    for name in PHOTOS {
        let f = features(&std::fs::read(fixture_path(name)).unwrap());
        let mut v1 = f.to_bytes();
        v1[3] = 1;
        v1.truncate(10 + 38 * f.features.len());
        keypoints.update(v1);
        let a = &f.appearance;
        grids.update([a.width, a.height, a.chroma_width, a.chroma_height]);
        grids.update(&a.cells);
        grids.update(a.chroma.concat());
    }
    assert_eq!(
        hex::encode(keypoints.finalize()),
        "e916c6f13610eac9d54f6c669390d41827491730b84ee2be7693e2a9baf9d013",
        "{}",
        LOCAL_ALGORITHM_VERSION
    );
    assert_eq!(
        hex::encode(grids.finalize()),
        "7201a287d628931e31039da809dc7ac94513e167174bf61f9d6789dfc56efb1a",
        "{}",
        LOCAL_ALGORITHM_VERSION
    );
}

/// A smooth picture (a colour gradient with a soft bump, `mirrored` left to right or not) with
/// one band of small black and white squares across it at a third of its height: its only
/// corners lie along that band.
fn smooth_with_band(mirrored: bool) -> RgbImage {
    let (w, h) = (480u32, 360u32);
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let fx = f64::from(if mirrored { w - 1 - x } else { x }) / f64::from(w);
        let fy = f64::from(y) / f64::from(h);
        let bump = (-((fx - 0.3).powi(2) + (fy - 0.7).powi(2)) * 12.0).exp();
        let v = |base: f64, gain: f64| (base + gain * fx + 30.0 * fy + 60.0 * bump) as u8;
        Rgb([v(40.0, 140.0), v(60.0, 90.0), v(120.0, -60.0)])
    });
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for i in 0..40u32 {
        let x = 20 + i * 11;
        let y = 112 + rng.gen_range(0..6);
        let side = rng.gen_range(5..9);
        let shade = if rng.gen_bool(0.5) { 0 } else { 255 };
        draw_filled_rect_mut(
            &mut img,
            Rect::at(x as i32, y).of_size(side, side),
            Rgb([shade; 3]),
        );
    }
    img
}

#[test]
fn a_smooth_picture_whose_corners_lie_along_one_band_is_matched_by_its_appearance() {
    let work_img = smooth_with_band(false);
    let work = features(&png(&work_img));
    // The right and lower 90% of the work, enlarged back: its keypoints agree, all along
    // the band.
    let (copy, truth) = crop_resize(&work_img, 48, 36, 432, 324, Some((480, 360)));
    let query = features(&jpeg(&copy, 85));

    let keypoints_only = GeometryParams {
        min_appearance_correlation: f64::INFINITY,
        ..GeometryParams::default()
    };
    let without = verify_pair(&query, &work, &keypoints_only);
    assert_eq!(
        without.decision,
        LocalDecision::NoMatch(Rejection::TooSmallSpread),
        "{without:?}"
    );
    let with = verify_pair(&query, &work, &GeometryParams::default());
    assert!(with.is_match() && with.by_appearance, "{with:?}");
    assert!(with.appearance.unwrap() > 0.98, "{with:?}");
    let found = with.transform.unwrap();
    assert!(transform_error(&found, &truth, 480, 360) < 3.0, "{found:?}");
    let evidence = LocalEvidence::of(&with, &query, &work).unwrap();
    assert!(evidence.decided_by_appearance && evidence.appearance_correlation.is_some());

    // A different smooth picture sharing only that band (a shared logo strip, say): the
    // keypoints agree as well, the pictures do not.
    let other = features(&png(&smooth_with_band(true)));
    let shared_band = verify_pair(&query, &other, &GeometryParams::default());
    assert!(!shared_band.is_match(), "{shared_band:?}");
    assert!(shared_band.appearance.unwrap() < 0.5, "{shared_band:?}");
}

/// A smooth colour picture with one soft bright bump and one soft dark one, and no corners:
/// keypoints find little to agree on. `warm` paints the same luma in other colours.
fn smooth_picture(warm: bool) -> RgbImage {
    let (w, h) = (480u32, 360u32);
    RgbImage::from_fn(w, h, |x, y| {
        let fx = f64::from(x) / f64::from(w);
        let fy = f64::from(y) / f64::from(h);
        let bump = (-((fx - 0.3).powi(2) + (fy - 0.65).powi(2)) * 14.0).exp()
            - 0.6 * (-((fx - 0.75).powi(2) + (fy - 0.3).powi(2)) * 18.0).exp();
        let l = 70.0 + 90.0 * fx + 30.0 * fy + 60.0 * bump;
        let c = |gain: f64| (l * gain).clamp(0.0, 255.0) as u8;
        if warm {
            Rgb([c(1.25), c(0.9), c(0.5)])
        } else {
            Rgb([c(0.6), c(0.9), c(1.3)])
        }
    })
}

#[test]
fn a_smooth_picture_without_corners_is_found_by_its_layout_and_aligned() {
    let work_img = smooth_picture(false);
    let work = features(&png(&work_img));
    let mut index = CandidateIndex::default();
    index.insert(1, &work);
    // The lower-right 85% of the work, enlarged back.
    let (copy, truth) = crop_resize(&work_img, 72, 54, 408, 306, Some((480, 360)));
    let query = features(&jpeg(&copy, 85));
    let keypoints = verify_pair(&query, &work, &GeometryParams::default());
    assert!(!keypoints.is_match(), "{keypoints:?}");

    let found = search(
        &index,
        &query,
        VERIFY_TOP,
        &GeometryParams::default(),
        |_| Some(work.clone()),
    );
    let hit = found.first().expect("proposed by its layout");
    assert!(hit.verification.is_match(), "{hit:?}");
    let alignment = hit.verification.alignment.expect("aligned");
    assert!(alignment.luma.correlation > 0.99, "{alignment:?}");
    // The search steps are a twentieth of the work's side; its answer is within one.
    let error = transform_error(&hit.verification.transform.unwrap(), &truth, 480, 360);
    assert!(error < 24.0, "{error} px: {alignment:?}");
    let evidence = hit.evidence.expect("evidence");
    assert!(evidence.aligned_by_appearance && evidence.decided_by_appearance);
    assert_eq!(evidence.inliers, 0);
    assert!(evidence.chroma_residual.unwrap() < 3.0, "{evidence:?}");

    // The same shapes and shading in other colours: the luma agrees, the colours do not.
    let (warm_copy, _) = crop_resize(&smooth_picture(true), 72, 54, 408, 306, Some((480, 360)));
    let warm_query = features(&jpeg(&warm_copy, 85));
    let refused = align_pair(&warm_query, &work, &GeometryParams::default(), &keypoints);
    assert_eq!(refused, None);
    let found = appearance::align(
        &work.appearance,
        (480.0, 360.0),
        &warm_query.appearance,
        (480.0, 360.0),
    )
    .unwrap();
    assert!(
        found.luma.correlation > 0.98 && found.chroma_residual > 20.0,
        "{found:?}"
    );
}

#[test]
fn a_smooth_picture_under_a_caption_is_aligned_by_what_the_caption_leaves() {
    let work_img = smooth_picture(false);
    let work = features(&png(&work_img));
    let mut index = CandidateIndex::default();
    index.insert(1, &work);
    let upload = decode(&jpeg(&caption_bar(&work_img), 85), &DecodeLimits::default()).unwrap();
    let query = extract_upload(&upload);
    let uncovered = query.uncovered.as_ref().expect("the caption is found");
    // The bar covers the bottom 15% (54 of 360 rows); the letters' anti-aliasing may blur
    // its edge by a row or two.
    assert!(
        uncovered.top == 0 && (303..=306).contains(&uncovered.bottom),
        "{uncovered:?}"
    );

    let params = GeometryParams::default();
    let search_by =
        |query: &LocalFeatures| search(&index, query, VERIFY_TOP, &params, |_| Some(work.clone()));
    let found = search_by(&query);
    let hit = found.first().expect("proposed");
    assert!(hit.verification.is_match(), "{hit:?}");
    let evidence = hit.evidence.expect("evidence");
    assert!(evidence.aligned_by_appearance, "{evidence:?}");
    // The whole work, unmoved: what the caption leaves is its top 85%.
    let t = hit.verification.transform.unwrap();
    let error = transform_error(&t, &Similarity::identity(), 480, 360);
    assert!(error < 24.0, "{error} px: {evidence:?}");
    assert!(evidence.work_region[3] > 0.95, "{evidence:?}");

    // Compared whole, as before captions were set aside, the bar decides: no match.
    let whole = LocalFeatures {
        uncovered: None,
        ..query.clone()
    };
    assert!(!search_by(&whole).iter().any(|m| m.verification.is_match()));

    // The work itself has no caption, and a different picture under the same caption is no
    // copy of it.
    assert_eq!(
        extract_upload(&decode(&png(&work_img), &DecodeLimits::default()).unwrap()).uncovered,
        None
    );
    let other = decode(
        &jpeg(&caption_bar(&smooth_picture(true)), 85),
        &DecodeLimits::default(),
    )
    .unwrap();
    let other = extract_upload(&other);
    assert!(other.uncovered.is_some());
    assert!(!search_by(&other).iter().any(|m| m.verification.is_match()));
}

#[test]
fn a_smooth_picture_turned_on_its_canvas_is_proposed_and_aligned_whole() {
    let work_img = smooth_picture(false);
    let work = features(&png(&work_img));
    let mut index = CandidateIndex::default();
    index.insert(1, &work);
    let params = GeometryParams::default();
    let search_by =
        |query: &LocalFeatures| search(&index, query, VERIFY_TOP, &params, |_| Some(work.clone()));
    // Turns between [`appearance::align`]'s steps (2.5 degrees apart once refined), so that
    // only the turned alignment finds them within half a degree.
    for degrees in [-3.5f32, 4.0] {
        // Turned about its centre on the same canvas, the uncovered corners black, as an
        // editor straightens a photograph.
        let turned = rotate_about_center(
            &work_img,
            degrees.to_radians(),
            Interpolation::Bilinear,
            Border::Constant(Rgb([0, 0, 0])),
        );
        let query = extract_upload(&decode(&jpeg(&turned, 90), &DecodeLimits::default()).unwrap());
        assert!(query.filled_corners, "{degrees}");
        let found = search_by(&query);
        let hit = found.first().expect("proposed by its turned centre");
        assert!(hit.verification.is_match(), "{degrees}: {hit:?}");
        let alignment = hit.verification.alignment.expect("aligned");
        assert!(
            (alignment.transform.angle_degrees.abs() - f64::from(degrees.abs())).abs() <= 0.5,
            "{degrees}: {alignment:?}"
        );
        assert!(
            (alignment.luma_gain - 1.0).abs() < 0.1,
            "{degrees}: {alignment:?}"
        );
    }
    // The work itself has no filled corners; a different picture turned the same way is no
    // copy of it.
    let plain = extract_upload(&decode(&png(&work_img), &DecodeLimits::default()).unwrap());
    assert!(!plain.filled_corners);
    let other = rotate_about_center(
        &smooth_picture(true),
        5f32.to_radians(),
        Interpolation::Bilinear,
        Border::Constant(Rgb([0, 0, 0])),
    );
    let other = extract_upload(&decode(&jpeg(&other, 90), &DecodeLimits::default()).unwrap());
    assert!(other.filled_corners);
    assert!(!search_by(&other).iter().any(|m| m.verification.is_match()));
}

/// `img` with `tone` applied to every channel, clipped.
fn retoned(img: &RgbImage, tone: impl Fn(f64) -> f64) -> RgbImage {
    let mut out = img.clone();
    for channel in out.iter_mut() {
        *channel = tone(f64::from(*channel)).clamp(0.0, 255.0) as u8;
    }
    out
}

/// A stock-photo mark: a translucent white box over the top left, the picture's darkest part.
fn stock_mark(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = out.dimensions();
    for y in h * 3 / 100..h * 16 / 100 {
        for x in w * 3 / 100..w * 22 / 100 {
            let p = out.get_pixel_mut(x, y);
            p.0 = p.0.map(|c| (f64::from(c) * 0.4 + 255.0 * 0.6) as u8);
        }
    }
    out
}

#[test]
fn a_smooth_picture_under_a_logo_or_brightened_is_aligned_with_its_tones() {
    let work_img = smooth_picture(false);
    let work = features(&png(&work_img));
    let params = GeometryParams::default();
    let aligned = |work: &LocalFeatures, copy: &RgbImage| {
        let query = features(&jpeg(copy, 85));
        let keypoints = verify_pair(&query, work, &params);
        let found = appearance::align(
            &work.appearance,
            work.size(),
            &query.appearance,
            query.size(),
        )
        .expect("an alignment");
        (found, align_pair(&query, work, &params, &keypoints))
    };

    // The logo's cells are set aside from the tones as from the correlation: untouched.
    let (found, verdict) = aligned(&work, &stock_mark(&work_img));
    assert!((found.luma_gain - 1.0).abs() < 0.1, "{found:?}");
    assert!((found.transform.scale - 1.0).abs() < 0.03, "{found:?}");
    assert!(found.luma_shift.abs() < 5.0, "{found:?}");
    assert!(verdict.is_some_and(|v| v.is_match()), "{found:?}");

    // A brightness edit scales the tones: the mean of this light picture moves by over 30
    // levels, which a bound on the shift refused (`docs/matching.md`, *Decision*).
    let (found, verdict) = aligned(&work, &retoned(&work_img, |c| c * 1.3));
    assert!(found.luma_shift > 30.0, "{found:?}");
    assert!((found.luma_ratio - 1.3).abs() < 0.05, "{found:?}");
    assert!(verdict.is_some_and(|v| v.is_match()), "{found:?}");
    // Twice as bright is no copy's edit the alignment accepts.
    let (found, verdict) = aligned(&work, &retoned(&work_img, |c| c * 2.0));
    assert!(
        found.luma_ratio > params.max_aligned_tone_change,
        "{found:?}"
    );
    assert_eq!(verdict, None, "{found:?}");

    // Nor a dark picture 20 levels darker than a dark work, its contrast kept: its mean
    // moves less than the light picture's brightened copy's, but by nearly half.
    let dark_img = retoned(&work_img, |c| c * 0.35);
    let (found, verdict) = aligned(
        &features(&png(&dark_img)),
        &retoned(&dark_img, |c| c - 20.0),
    );
    assert!(found.luma_ratio < 0.7, "{found:?}");
    assert!(
        found.luma.correlation > 0.98 && (found.luma_gain - 1.0).abs() < 0.2,
        "{found:?}"
    );
    assert_eq!(verdict, None, "{found:?}");
}
