package ecs

// remediations say, for each refusal, what a person does about it, in one line. They follow the
// service's own messages and API reference (DeleteImage's and DeleteSnapshot's error tables),
// naming the calls the service itself points to.
var remediations = map[string]string{
	"ImageUsingByInstance": "instances were created from the image: find them with DescribeInstances (listed in blockers) " +
		"and release them or replace their system disks, or proceed with the force parameter (force: true in the policy)",
	"ImageUseShared": "the image is shared with other accounts (DescribeImageSharePermission, listed in blockers): " +
		"unshare it with ModifyImageSharePermission (RemoveAccount.N, and IsPublic=false if published to all), then delete it",
	"OperationDenied.ImageCopying": "the image is being copied: cancel the copy with CancelCopyImage, or wait for it to finish",
	"ImageIsImporting":             "the image is being imported: wait for the import task to finish (DescribeTasks shows it)",
	"ImageIsExporting":             "the image is being exported: check the export task with DescribeTasks and cancel it if needed, or wait for it to finish",
	"ImageIsPublic":                "the image is a community image: unpublish it with ModifyImageSharePermission (IsPublic=false), then delete it",
	"ImageIsCreating":              "the image is still being created: wait until it is Available (or CreateFailed), then delete it",
	"SnapshotCreatedImage":         "custom images were created from the snapshot: delete those images with DeleteImage first, then the snapshot",
	"SnapshotCreatedDisk": "disks were created from the snapshot: DeleteSnapshot with Force=true deletes it, " +
		"after which those disks can no longer be re-initialized",
	"InvalidOperation.DeleteSharedSnapshotUnsupported": "the snapshot is shared with other accounts: stop sharing it, " +
		"then delete it by hand with DeleteSnapshot (its image is gone: no later run will see it)",
	"IncorrectDiskStatus.CreatingSnapshot": "a snapshot of its disk was being created the whole run: " +
		"delete it by hand with DeleteSnapshot once that is done (its image is gone: no later run will see it)",
	"Operation.Conflict": "another operation held the snapshot the whole run: " +
		"delete it by hand with DeleteSnapshot later (its image is gone: no later run will see it)",
	"InvalidOperation.RelatedSnapshotNotFinished": "a snapshot related to it was not finished the whole run: " +
		"delete it by hand with DeleteSnapshot once that one is done (its image is gone: no later run will see it)",
}

// Remediation returns the one-line remedy for a refusal code (see Class ClassBlocked), or ""
// for a code it does not know.
func Remediation(code string) string {
	return remediations[code]
}
