//! The registry's own tests: what the embedder API cannot show.

use super::*;

/// Issue 21: one instance per request releases the same names at every request. Each
/// release put the name on the idle list again, so the list grew by a request's names every
/// request, and past 1,024 a sweep forgot the entries that the next request made again
/// (under the write lock). A name is on the list once now, and its entry stays.
/// Names as hosts write them spread over the shards, however long: a shard is picked from
/// every byte of the name (a hash of the first eight alone put these in one shard).
#[test]
fn names_alike_spread_over_the_shards() {
    for prefix in ["F", "FEATURE_", "TENANT_LIMIT_REQUESTS_PER_SECOND_"] {
        let shards: std::collections::HashSet<usize> = (0..256)
            .map(|i| Entries::shard(&format!("{prefix}{i}")))
            .collect();
        assert!(
            shards.len() >= 48,
            "{prefix}…: {} shards of 64",
            shards.len()
        );
    }
    assert_eq!(Entries::shard("N"), Entries::shard("N"));
    assert!((0..SHARDS).contains(&Entries::shard("")));
}

#[test]
fn a_name_released_again_and_again_idles_once() {
    let globals = Globals::new();
    let key = |g: &Globals| Arc::as_ptr(&g.read().entries.get("N").expect("kept").key);
    for request in 0..5_000 {
        let declared = globals.declare_name("N", ValueType::U64, &mut StoreNames::default());
        assert!(declared.is_ok(), "request {request}");
        globals.undeclare(0, false, [Release::ordinary("N", true)]);
    }
    let before = key(&globals);
    assert_eq!(globals.read().idle.lock().len(), 1);
    globals
        .declare_name("N", ValueType::U64, &mut StoreNames::default())
        .expect("declares");
    globals.undeclare(0, false, [Release::ordinary("N", true)]);
    assert_eq!(key(&globals), before, "the same entry, never swept");
    assert_eq!(globals.read().idle.lock().len(), 1);
}

/// Issue 20, finding 8: each new child swept every child of its parent under the parent's
/// lock, so making n children looked at n²/2 entries. Sweeps now come once the entries
/// doubled: about 2n looks all told, live children or dropped ones.
#[test]
fn making_children_sweeps_in_linear_time() {
    let n = 10_000;
    for keep in [true, false] {
        let parent = Globals::new();
        let mut kept = Vec::new();
        for _ in 0..n {
            let child = parent.child();
            if keep {
                kept.push(child);
            }
        }
        let state = parent.read();
        assert!(
            state.children_looked_at <= 2 * n,
            "keep {keep}: {} looked at for {n} children",
            state.children_looked_at
        );
        assert!(state.children.len() as u64 <= if keep { n } else { 32 });
    }
}
use wasmtime_global_abi::validate::{ValidSlot, read_header, read_slot};
use wasmtime_global_abi::{Header, Slot, slot_offset};

/// `slot` as the declaration path sees it, its name borrowed.
fn checked(slot: &ValidSlot) -> CheckedSlot<'_> {
    CheckedSlot {
        index: slot.index,
        name: slot.name.as_str(),
        hash: slot.hash,
        ty: slot.ty,
        default: slot.default,
        value_addr: slot.value_addr,
    }
}

/// A guest's table as bytes: slots 0 and 1 both named "N" (U64, default 1).
fn slots() -> (ValidSlot, ValidSlot) {
    let mut bytes = vec![0u8; 4096];
    let header = Header {
        count: 2,
        ..Header::new(2)
    };
    bytes[..64].copy_from_slice(bytemuck::bytes_of(&header));
    bytes[1024] = b'N';
    for i in 0..2 {
        let slot = Slot {
            hash: wasmtime_global_abi::fnv1a64(b"N"),
            name_addr: 1024,
            name_len: 1,
            ty: ValueType::U64.tag(),
            default: 1,
            ..Slot::ZERO
        };
        let at = slot_offset(i) as usize;
        bytes[at..at + 64].copy_from_slice(bytemuck::bytes_of(&slot));
    }
    let header = read_header(&bytes[..], 0).expect("a valid header");
    (
        read_slot(&bytes[..], 0, &header, 0).expect("slot 0"),
        read_slot(&bytes[..], 0, &header, 1).expect("slot 1"),
    )
}

/// A race between three threads, played in one: store 2 counts its declaration of slot B
/// under the registry's lock; a set of N reaches the table and writes slot A; store 1, the
/// only one with slot A, goes; then store 2 records slot B. B must get the set's value, which
/// the table learnt, not the older one store 2 saw under the registry's lock.
#[test]
fn a_declaration_on_its_way_gets_a_change_written_while_the_name_had_no_slot() {
    let mut config = wasmtime::Config::new();
    config.shared_memory(true);
    let engine = wasmtime::Engine::new(&config).expect("an engine");
    let memory =
        SharedMemory::new(&engine, wasmtime::MemoryType::shared(1, 1)).expect("a shared memory");
    let base = memory.data().as_ptr() as usize;
    let table = SharedTable {
        generation: SharedWord::new(&memory, GENERATION_OFFSET).expect("a word"),
        capacity: 2,
        _claim: TableClaim::take(TableKey { base, addr: 0 }, 2, u64::MAX).expect("a claim"),
        pending: AtomicUsize::new(0),
        slots: Mutex::default(),
    };
    let (a, b) = slots();
    let name: Arc<str> = Arc::from("N");
    let addr = |slot: &ValidSlot| u32::try_from(slot.value_addr).expect("small");
    let value = |slot: &ValidSlot| {
        table
            .generation
            .at(slot.value_addr)
            .expect("a word")
            .load(Ordering::Acquire)
    };
    table
        .record(1, &checked(&a), &name, ValueAt::default(), addr(&a))
        .expect("slot A");
    // Store 2 has counted its declaration of slot B, with the name unchanged (version 0).
    table.pending.fetch_add(1, Ordering::AcqRel);
    table.write(&[NameChange {
        name: Arc::clone(&name),
        at: 5,
        value: Some(Value::U64(7)),
    }]);
    assert_eq!(value(&a), 7);
    table.release(1, &[0]);
    table
        .record(2, &checked(&b), &name, ValueAt::default(), addr(&b))
        .expect("slot B");
    table.pending.fetch_sub(1, Ordering::AcqRel);
    assert_eq!(
        value(&b),
        7,
        "slot B reads the change made while it was on its way"
    );
}
