// Package ecs is the narrow view of Alibaba Cloud ECS that the job needs: the image model, the
// calls it makes, and the one classification of every error those calls return.
package ecs

import (
	"context"
	"time"
)

// Image statuses as DescribeImages reports them.
const (
	StatusCreating     = "Creating"
	StatusWaiting      = "Waiting"
	StatusAvailable    = "Available"
	StatusUnAvailable  = "UnAvailable"
	StatusCreateFailed = "CreateFailed"
	StatusDeprecated   = "Deprecated"
)

// AllStatuses lists every image status the service knows, in its documented order.
var AllStatuses = []string{StatusCreating, StatusWaiting, StatusAvailable, StatusUnAvailable, StatusCreateFailed, StatusDeprecated}

// Image owner aliases.
const (
	OwnerSelf        = "self"
	OwnerSystem      = "system"
	OwnerOthers      = "others"
	OwnerMarketplace = "marketplace"
)

// Image is one image as DescribeImages lists it, reduced to what the job uses.
type Image struct {
	ID           string
	Name         string
	Family       string
	CreationTime time.Time
	Status       string
	OwnerAlias   string
	Usage        string // "instance" or "none"
	Shared       bool   // IsSelfShared
	Public       bool   // IsPublic
	Tags         map[string]string
	SizeGiB      int
	Snapshots    []Snapshot // from DiskDeviceMappings, in the service's order
}

// Snapshot is one snapshot that backs an image.
type Snapshot struct {
	ID      string
	SizeGiB int
}

// DeleteImageInput is one DeleteImage request.
type DeleteImageInput struct {
	Region, ImageID string
	// Force sends Force=true: instances created from the image are left without it. Only a
	// policy that says force: true in so many words sets it.
	Force bool
	// DryRun only checks that the image could be deleted; nothing is deleted.
	DryRun bool
}

// SetImageStatusInput is one ModifyImageAttribute request that changes an image's status and
// nothing else.
type SetImageStatusInput struct {
	Region, ImageID string
	// Status is StatusDeprecated (out of use by family, still launchable by id) or
	// StatusAvailable (back in use).
	Status string
	// DryRun only checks that the status could be changed; nothing changes.
	DryRun bool
}

// TagImageInput is one TagResources request for one image.
type TagImageInput struct {
	Region, ImageID string
	// Tags are set on the image, each key replacing its value if the image has it already.
	Tags map[string]string
}

// UntagImageInput is one UntagResources request for one image.
type UntagImageInput struct {
	Region, ImageID string
	// Keys are the tag keys removed; a key the image lacks is no error.
	Keys []string
}

// ListFilter narrows DescribeImages on the server side. Zero fields are not sent. An empty
// Statuses means the service default, which is Available only.
type ListFilter struct {
	OwnerAlias    string
	Statuses      []string
	Tags          map[string]string
	Name          string // fuzzy match on the service side
	ImageID       string
	CreatedAfter  time.Time // Filter CreationStartTime, minute precision, UTC
	CreatedBefore time.Time // Filter CreationEndTime, minute precision, UTC
}

// ImagePage is one page of DescribeImages.
type ImagePage struct {
	Images     []Image
	TotalCount int
	PageNumber int
	PageSize   int
	RequestID  string
}

// SharePermission is what DescribeImageSharePermission says about one image.
type SharePermission struct {
	Accounts []string // AliyunIds the image is shared with
	Public   bool     // shared with the group "all"
}

// Result is what a successful mutating call returns.
type Result struct {
	RequestID string
}

// PageSize is the largest page DescribeImages serves; the job always asks for it.
const PageSize = 100

// TagQueryLimit is the most images a DescribeImages with Tag.N filters finds in all, however
// many match (the API reference says so): a tag-filtered listing that reaches it may be
// incomplete, without any error.
const TagQueryLimit = 1000

// API is every ECS call the job makes. Every error an implementation returns is an *Error
// (see Classify), so callers decide on Class and Code alone.
type API interface {
	// DescribeImagesPage returns one page (pageNumber from 1, pageSize 1..100) of a region's images.
	DescribeImagesPage(ctx context.Context, region string, f ListFilter, pageNumber, pageSize int) (ImagePage, error)
	// DeleteImage deletes one image, or with dryRun only checks that it could be deleted. A dry run
	// that passes returns a nil error; a dry run the service did not honour returns ClassDryRunIgnored.
	DeleteImage(ctx context.Context, in DeleteImageInput) (Result, error)
	// InstancesUsingImage lists the ids of the instances launched from an image, every page.
	InstancesUsingImage(ctx context.Context, region, imageID string) ([]string, error)
	// ImageSharePermission lists the accounts an image is shared with, every page.
	ImageSharePermission(ctx context.Context, region, imageID string) (SharePermission, error)
	// SetImageStatus sets an image's status with ModifyImageAttribute, or with DryRun only checks
	// that it could. A dry run that passes returns a nil error; one the service did not honour
	// returns ClassDryRunIgnored.
	SetImageStatus(ctx context.Context, in SetImageStatusInput) (Result, error)
	// TagImage sets tags on one image (TagResources, ResourceType image).
	TagImage(ctx context.Context, in TagImageInput) (Result, error)
	// UntagImage removes tags from one image (UntagResources, ResourceType image).
	UntagImage(ctx context.Context, in UntagImageInput) (Result, error)
	// DeleteSnapshot deletes one snapshot.
	DeleteSnapshot(ctx context.Context, region, snapshotID string, force bool) (Result, error)
	// DescribeLaunchTemplatesPage returns one page (pageNumber from 1, pageSize 1..50) of a
	// region's launch templates.
	DescribeLaunchTemplatesPage(ctx context.Context, region string, pageNumber, pageSize int) (LaunchTemplatePage, error)
	// DescribeLaunchTemplateVersionsPage returns one page (pageSize 1..50) of a launch template's
	// versions, all of them, each with the image it launches. A template that is gone answers
	// ClassNotFound.
	DescribeLaunchTemplateVersionsPage(ctx context.Context, region, templateID string, pageNumber, pageSize int) (LaunchTemplateVersionPage, error)
	// DescribeScalingConfigurationsPage returns one page (pageSize 1..50) of a region's Auto
	// Scaling (ESS) scaling configurations, active and inactive, each with its image.
	DescribeScalingConfigurationsPage(ctx context.Context, region string, pageNumber, pageSize int) (ScalingConfigurationPage, error)
}
