package ecstest

import (
	"context"
	"testing"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

// TestDeleteSnapshotDropAfterDelete: DropAfterDeleteRatio covers DeleteSnapshot too: the snapshot
// is deleted and the connection closed without an answer, so the caller's retry finds it gone.
func TestDeleteSnapshotDropAfterDelete(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{Faults: map[string]Faults{"DeleteSnapshot": {DropAfterDeleteRatio: 1}}})
	defer s.Close()
	c := newClient(t, s)
	del := func() error {
		_, err := c.DeleteSnapshotWithContext(context.Background(), &ecs.DeleteSnapshotRequest{SnapshotId: tea.String("s-free")}, rt)
		return err
	}
	if err := del(); err == nil {
		t.Fatal("a dropped DeleteSnapshot answered")
	}
	if s.SnapshotExists("s-free") {
		t.Fatal("the dropped DeleteSnapshot did not take effect")
	}
	calls := s.Calls()
	if last := calls[len(calls)-1]; last.Action != "DeleteSnapshot" || !last.Dropped {
		t.Fatalf("call log: %+v", last)
	}
	wantCode(t, del(), "InvalidSnapshotId.NotFound", 404)
	// A refused DeleteSnapshot is answered, never dropped.
	_, err := c.DeleteSnapshotWithContext(context.Background(), &ecs.DeleteSnapshotRequest{SnapshotId: tea.String("s-disk")}, rt)
	wantCode(t, err, "SnapshotCreatedDisk", 403)
}
