//! Small typed identifiers. Each is an index into one of [`crate::RoadNet`]'s flat tables, so the
//! simulator can keep per-entity state in plain vectors; each prints readably (`lane#12`).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// Position of the entity in its table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
            /// The id of the entity at `index` in its table.
            pub fn from_index(index: usize) -> Self {
                Self(u32::try_from(index).expect("more than u32::MAX entities"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "#{}"), self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    };
}

typed_id!(
    /// A node of the network: a signalized or priority junction, or a boundary node where traffic
    /// enters or leaves.
    IntersectionId,
    "intersection"
);
typed_id!(
    /// A directed road (link) from one intersection to the next; an approach of its end intersection.
    RoadId,
    "road"
);
typed_id!(
    /// One lane of a road.
    LaneId,
    "lane"
);
typed_id!(
    /// A turning movement through an intersection: from one road to another, with its lane links.
    MovementId,
    "movement"
);
typed_id!(
    /// A signal group: movements that always show the same indication.
    SignalGroupId,
    "group"
);
typed_id!(
    /// A stage: a set of signal groups that are green together.
    StageId,
    "stage"
);
typed_id!(
    /// A loop detector.
    DetectorId,
    "detector"
);
typed_id!(
    /// A video camera that observes a zone on some lanes.
    CameraId,
    "camera"
);
typed_id!(
    /// A coordinated corridor (arterial) of intersections.
    CorridorId,
    "corridor"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_readably() {
        assert_eq!(LaneId(12).to_string(), "lane#12");
        assert_eq!(format!("{:?}", IntersectionId(3)), "intersection#3");
        assert_eq!(StageId::from_index(7).index(), 7);
    }
}
