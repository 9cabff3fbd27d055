//! Which of an image's layers are its base image's: the base's layers must
//! be the image's bottom layers, diff id for diff id (image-spec
//! `config.md`, `rootfs.diff_ids`: the layers in order, bottom first).

use clearance_oci::Digest;

/// Manifest annotation naming the base image (image-spec
/// `annotations.md`, "Pre-Defined Annotation Keys").
pub const BASE_NAME_ANNOTATION: &str = "org.opencontainers.image.base.name";
/// Manifest annotation giving the base image's manifest digest.
pub const BASE_DIGEST_ANNOTATION: &str = "org.opencontainers.image.base.digest";

/// Why an image was refused as built on a base.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseError {
    /// The base has more layers than the image.
    #[error(
        "the base image has {base} layers and the image only {image}: it is not this image's base"
    )]
    Longer {
        /// The base's layer count.
        base: usize,
        /// The image's.
        image: usize,
    },
    /// A layer of the base is not the image's layer at the same place.
    #[error(
        "layer {layer} differs (the image's diff id is {image}, the base's {base}): the image is not built on this base"
    )]
    Differs {
        /// 0-based layer index.
        layer: usize,
        /// The image's diff id there.
        image: Digest,
        /// The base's.
        base: Digest,
    },
    /// A config that does not give a layer's diff id.
    #[error(
        "the {which}'s config gives no diff id for layer {layer}, so its layers cannot be compared"
    )]
    NoDiffId {
        /// `image` or `base image`.
        which: &'static str,
        /// 0-based layer index.
        layer: usize,
    },
}

/// How many of the image's bottom layers are the base's: `base.len()`,
/// once every base layer's diff id is found at the same place in the
/// image. Diff ids (uncompressed digests), not blob digests, are
/// compared: a base re-compressed by a registry is still the base.
///
/// # Errors
///
/// [`BaseError`] when the base is longer, a layer differs, or a diff id
/// is missing.
pub fn base_layers(image: &[Option<Digest>], base: &[Option<Digest>]) -> Result<usize, BaseError> {
    if base.len() > image.len() {
        return Err(BaseError::Longer {
            base: base.len(),
            image: image.len(),
        });
    }
    for (layer, (i, b)) in image.iter().zip(base).enumerate() {
        let i = i.as_ref().ok_or(BaseError::NoDiffId {
            which: "image",
            layer,
        })?;
        let b = b.as_ref().ok_or(BaseError::NoDiffId {
            which: "base image",
            layer,
        })?;
        if i != b {
            return Err(BaseError::Differs {
                layer,
                image: i.clone(),
                base: b.clone(),
            });
        }
    }
    Ok(base.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Option<Digest> {
        Some(
            format!("sha256:{}", format!("{n:02x}").repeat(32))
                .parse()
                .unwrap(),
        )
    }

    #[test]
    fn a_base_is_a_prefix_of_the_image_layers() {
        assert_eq!(base_layers(&[d(1), d(2), d(3)], &[d(1), d(2)]), Ok(2));
        assert_eq!(base_layers(&[d(1)], &[]), Ok(0));
        assert_eq!(base_layers(&[d(1), d(2)], &[d(1), d(2)]), Ok(2));
    }

    #[test]
    fn a_base_that_is_not_the_images_is_refused_naming_the_layer() {
        assert_eq!(
            base_layers(&[d(1), d(2)], &[d(1), d(2), d(3)]),
            Err(BaseError::Longer { base: 3, image: 2 })
        );
        assert!(matches!(
            base_layers(&[d(1), d(2), d(3)], &[d(1), d(9)]),
            Err(BaseError::Differs { layer: 1, .. })
        ));
        assert_eq!(
            base_layers(&[d(1), None], &[d(1), d(2)]),
            Err(BaseError::NoDiffId {
                which: "image",
                layer: 1
            })
        );
    }
}
