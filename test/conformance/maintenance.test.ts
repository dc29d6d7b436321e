// Maintenance and Cluster: Status, Alarm GET and MemberList as a single-member cluster, and the
// identity fields of response headers that clients compare across endpoints.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends } from '../helpers/backends.ts';
import { rev, useBackend } from '../helpers/conformance.ts';
import { AlarmAction } from '../helpers/raw-client.ts';

describe('maintenance', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b);

      it('Status: version, a full header with the current revision, this member as leader', async () => {
        const p = t.prefix('status');
        await t.client.put({ key: p + 'k', value: 'v' });
        const r0 = await t.client.revision();
        const res = await t.client.status();
        assert.match(res.version, /^3\.4\.\d+/, 'an etcd 3.4 API version');
        assert.equal(rev(res.header), r0);
        assert.notEqual(res.header.cluster_id, '0');
        assert.notEqual(res.header.member_id, '0');
        assert.notEqual(res.header.raft_term, '0');
        assert.equal(res.leader, res.header.member_id, 'a single member leads itself');
        assert.deepEqual(res.errors, []);
        assert.equal(res.isLearner, false);
        assert.notEqual(res.raftTerm, '0');
      });

      it('Alarm GET: no alarms, and no header (etcd 3.4 leaves it unset)', async () => {
        const res = await t.client.alarm({ action: AlarmAction.GET });
        assert.deepEqual(res.alarms, []);
        assert.equal(res.header, null);
      });

      it('MemberList: one voting member with this endpoint as client URL; header revision 0', async () => {
        const res = await t.client.memberList();
        assert.equal(res.members.length, 1);
        const [member] = res.members;
        assert.equal(member.ID, res.header.member_id);
        assert.notEqual(member.ID, '0');
        assert.ok(member.name.length > 0);
        assert.ok(member.clientURLs.includes(`http://${t.endpoint}`), JSON.stringify(member.clientURLs));
        assert.equal(member.isLearner, false);
        assert.notEqual(res.header.cluster_id, '0');
        assert.equal(res.header.revision, '0', 'the Cluster service does not fill in the revision');
      });

      it('every service reports the same cluster_id, member_id and raft_term', async () => {
        const headers = [
          (await t.client.range({ key: 'x' })).header,
          (await t.client.status()).header,
          (await t.client.memberList()).header,
          (await t.client.leaseLeases()).header,
        ];
        const identity = headers.map((h) => ({ cluster_id: h.cluster_id, member_id: h.member_id, raft_term: h.raft_term }));
        for (const id of identity) assert.deepEqual(id, identity[0]);
      });
    });
  }
});
