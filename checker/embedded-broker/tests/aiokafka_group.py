"""A consumer group of aiokafka clients (pure Python, not librdkafka) against the
embedded broker: two members split two partitions, a clean leave hands both to the
survivor within a heartbeat or so, commits made around the rebalance are accepted, and
the admin client lists and describes the group.

Usage: python3 aiokafka_group.py BOOTSTRAP TOPIC GROUP   (the topic has 2 partitions)
Prints one line per check and exits non-zero on the first that fails.
"""

import asyncio
import sys
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

BOOTSTRAP, TOPIC, GROUP = sys.argv[1:4]
HEARTBEAT_MS = 500


def member():
    return AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=BOOTSTRAP,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10000,
        heartbeat_interval_ms=HEARTBEAT_MS,
    )


async def wait_for(what, condition, limit=20.0):
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > limit:
            raise SystemExit(f"FAIL: waited {limit} s for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def main():
    first, second = member(), member()
    await first.start()
    await second.start()
    await wait_for(
        "both members to be assigned",
        lambda: len(first.assignment()) == 1 and len(second.assignment()) == 1,
    )
    print("ok: two members split two partitions")

    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    for i in range(4):
        await producer.send_and_wait(TOPIC, f"message {i}".encode(), partition=i % 2)
    await producer.stop()

    got = []

    async def drain(consumer):
        batches = await consumer.getmany(timeout_ms=200)
        for records in batches.values():
            got.extend(r.value for r in records)
        if batches:
            await consumer.commit()

    start = time.monotonic()
    while len(got) < 4:
        if time.monotonic() - start > 20:
            raise SystemExit(f"FAIL: consumed {got} in 20 s, not all four messages")
        await asyncio.gather(drain(first), drain(second))
    if sorted(got) != [f"message {i}".encode() for i in range(4)]:
        raise SystemExit(f"FAIL: consumed {got}")
    print("ok: the group consumed all four messages once and committed")

    await second.stop()  # a clean leave
    took = await wait_for("the survivor to own both partitions", lambda: len(first.assignment()) == 2)
    # Heartbeat interval plus one second, as on Apache Kafka.
    if took > HEARTBEAT_MS / 1000 + 1.0:
        raise SystemExit(f"FAIL: handover took {took:.2f} s")
    print(f"ok: after a clean leave the survivor owns both partitions ({took:.2f} s)")

    await first.commit({TopicPartition(TOPIC, 0): 2, TopicPartition(TOPIC, 1): 2})
    print("ok: the survivor's commit was accepted")

    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    listed = await admin.list_consumer_groups()
    if GROUP not in [g[0] for g in listed]:
        raise SystemExit(f"FAIL: {GROUP} not in {listed}")
    described = await admin.describe_consumer_groups([GROUP])
    text = str(described)
    if "Stable" not in text:
        raise SystemExit(f"FAIL: the group is not Stable: {text}")
    print("ok: the admin client lists and describes the group")
    await admin.close()

    # ListOffsets by timestamp: the first offset whose record is at or after the time.
    later = int(time.time() * 1000) + 1_000_000
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    for i, stamp in enumerate([later, later + 1000]):
        await producer.send_and_wait(TOPIC, f"late {i}".encode(), partition=0, timestamp_ms=stamp)
    await producer.stop()
    tp = TopicPartition(TOPIC, 0)
    found = await first.offsets_for_times({tp: later + 500})
    if found[tp] is None or (found[tp].offset, found[tp].timestamp) != (3, later + 1000):
        raise SystemExit(f"FAIL: offsets_for_times at {later + 500} gave {found}")
    beyond = await first.offsets_for_times({tp: later + 2000})
    if beyond[tp] is not None:
        raise SystemExit(f"FAIL: offsets_for_times past the last record gave {beyond}")
    print("ok: offsets_for_times finds the first record at or after the time")
    await first.stop()


asyncio.run(main())
