//! The fields of the Go structs that Docker, containerd and skopeo decode
//! image documents into, as far as [`super::keys`] needs them: which
//! objects are structs (keys matched case-insensitively), which are maps
//! (keys exact), and what their values are. Field names are the structs'
//! JSON names, from image-spec `specs-go/v1`, moby (`image`, `container`,
//! `tarexport`), distribution and docker-image-spec.

/// What Go decodes a value into, as far as keys matter.
#[derive(Clone, Copy)]
pub(super) enum Shape {
    /// A struct: keys match these fields case-insensitively.
    Struct(&'static [Field]),
    /// A slice of this.
    Array(&'static Shape),
    /// A map: keys exact, values of this shape.
    Map(&'static Shape),
    /// A string, number, raw message or a field Go does not have.
    Any,
}

pub(super) struct Field {
    pub name: &'static str,
    pub shape: Shape,
}

const fn f(name: &'static str, shape: Shape) -> Field {
    Field { name, shape }
}

const ANY: Shape = Shape::Any;

// image-spec specs-go/v1 `Platform`, Docker's manifest list `PlatformSpec`.
const PLATFORM: Shape = Shape::Struct(&[
    f("architecture", ANY),
    f("os", ANY),
    f("os.version", ANY),
    f("os.features", ANY),
    f("variant", ANY),
    f("features", ANY),
]);

// image-spec `Descriptor`, distribution's `Descriptor`.
const DESCRIPTOR: Shape = Shape::Struct(&[
    f("mediaType", ANY),
    f("digest", ANY),
    f("size", ANY),
    f("urls", ANY),
    f("annotations", Shape::Map(&ANY)),
    f("data", ANY),
    f("platform", PLATFORM),
    f("artifactType", ANY),
]);

// image-spec `Manifest` and `Index`, Docker schema 2 and manifest list, and
// the fields containerd's `validateMediaType` reads (`fsLayers`).
pub(super) const MANIFEST: Shape = Shape::Struct(&[
    f("schemaVersion", ANY),
    f("mediaType", ANY),
    f("artifactType", ANY),
    f("config", DESCRIPTOR),
    f("layers", Shape::Array(&DESCRIPTOR)),
    f("manifests", Shape::Array(&DESCRIPTOR)),
    f("subject", DESCRIPTOR),
    f("annotations", Shape::Map(&ANY)),
    f("fsLayers", ANY),
]);

// Docker's `container.HealthConfig`.
const HEALTHCHECK: Shape = Shape::Struct(&[
    f("Test", ANY),
    f("Interval", ANY),
    f("Timeout", ANY),
    f("StartPeriod", ANY),
    f("StartInterval", ANY),
    f("Retries", ANY),
]);

// image-spec `ImageConfig` with Docker's `container.Config` and
// docker-image-spec's `DockerOCIImageConfig`.
const CONTAINER_CONFIG: Shape = Shape::Struct(&[
    f("Hostname", ANY),
    f("Domainname", ANY),
    f("User", ANY),
    f("AttachStdin", ANY),
    f("AttachStdout", ANY),
    f("AttachStderr", ANY),
    f("ExposedPorts", Shape::Map(&ANY)),
    f("Tty", ANY),
    f("OpenStdin", ANY),
    f("StdinOnce", ANY),
    f("Env", STRINGS),
    f("Cmd", STRINGS),
    f("Healthcheck", HEALTHCHECK),
    f("ArgsEscaped", ANY),
    f("Image", ANY),
    f("Volumes", Shape::Map(&ANY)),
    f("WorkingDir", ANY),
    f("Entrypoint", STRINGS),
    f("NetworkDisabled", ANY),
    f("MacAddress", ANY),
    f("OnBuild", STRINGS),
    f("Labels", Shape::Map(&ANY)),
    f("StopSignal", ANY),
    f("StopTimeout", ANY),
    f("Shell", STRINGS),
]);

/// A list of strings: its elements are counted (`MAX_ELEMENTS`), not checked.
const STRINGS: Shape = Shape::Array(&ANY);

const ROOTFS: Shape =
    Shape::Struct(&[f("type", ANY), f("diff_ids", STRINGS), f("base_layer", ANY)]);

const HISTORY: Shape = Shape::Struct(&[
    f("created", ANY),
    f("author", ANY),
    f("created_by", ANY),
    f("comment", ANY),
    f("empty_layer", ANY),
]);

// image-spec `Image` with moby's `image.V1Image` and `image.Image`.
pub(super) const CONFIG: Shape = Shape::Struct(&[
    f("created", ANY),
    f("author", ANY),
    f("architecture", ANY),
    f("os", ANY),
    f("os.version", ANY),
    f("os.features", ANY),
    f("variant", ANY),
    f("config", CONTAINER_CONFIG),
    f("rootfs", ROOTFS),
    f("history", Shape::Array(&HISTORY)),
    f("id", ANY),
    f("parent", ANY),
    f("comment", ANY),
    f("container", ANY),
    f("container_config", CONTAINER_CONFIG),
    f("docker_version", ANY),
    f("Size", ANY),
]);

// moby `tarexport.manifestItem`, containerd's `manifestDotJSON`.
pub(super) const ARCHIVE_ITEM: Shape = Shape::Struct(&[
    f("Config", ANY),
    f("RepoTags", ANY),
    f("Layers", ANY),
    f("Parent", ANY),
    f("LayerSources", Shape::Map(&DESCRIPTOR)),
]);
