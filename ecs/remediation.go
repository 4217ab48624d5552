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
}

// Remediation returns the one-line remedy for a refusal code (see Class ClassBlocked), or ""
// for a code it does not know.
func Remediation(code string) string {
	return remediations[code]
}
