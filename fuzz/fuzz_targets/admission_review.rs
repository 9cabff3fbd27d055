//! AdmissionReview v1 reading: never panics; every container found has an
//! `image_pointer` that names, in the object, exactly the image reported
//! (so a patch rewrites what was judged); every answer serializes with the
//! request's uid.
#![no_main]

use clearance_policy::admission::{self, AdmissionResponse, Workload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = admission::parse_review(data) else { return };
    match admission::workload(&request) {
        Ok(Workload::Containers(containers)) => {
            let object = request.object.as_ref().expect("containers come from an object");
            for c in &containers {
                let at = object.pointer(&c.image_pointer).and_then(|v| v.as_str());
                assert_eq!(at, Some(c.image.as_str()), "{}", c.image_pointer);
            }
            let answer = AdmissionResponse::allow(&request.uid, vec![]).review();
            assert_eq!(answer["response"]["uid"], request.uid.as_str());
        }
        Ok(Workload::Nothing(_)) => {}
        Err(e) => {
            let answer = AdmissionResponse::deny(&request.uid, 400, &e.to_string()).review();
            assert_eq!(answer["response"]["allowed"], false);
        }
    }
});
