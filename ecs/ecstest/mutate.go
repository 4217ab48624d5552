package ecstest

import "maps"

// AddImage adds an own custom image to a region after the server started, as an image created
// between two runs would be: defaults as in the state file (self-owned, Available, 20 GiB). It
// reports false when the region is unknown or the id is taken. Snapshots are not modelled for
// images added this way.
func (s *Server) AddImage(region string, im Image) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.regions[region]
	if rs == nil || rs.images[im.ID] != nil {
		return false
	}
	im.withDefaults()
	im.Snapshots = nil
	im.Tags = maps.Clone(im.Tags)
	rs.images[im.ID] = &im
	rs.sorted = nil
	return true
}

// SetTag sets one tag on an image, as TagResources would. It reports false when the image does
// not exist.
func (s *Server) SetTag(region, id, key, value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.regions[region]
	if rs == nil || rs.images[id] == nil {
		return false
	}
	im := rs.images[id]
	if im.Tags == nil {
		im.Tags = map[string]string{}
	}
	im.Tags[key] = value
	return true
}

// RemoveImage takes an image away, as a deletion by someone else between two runs would. It
// reports false when the image does not exist.
func (s *Server) RemoveImage(region, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.regions[region]
	if rs == nil || rs.images[id] == nil {
		return false
	}
	for _, sid := range rs.images[id].Snapshots {
		if sn := s.snapshots[sid]; sn != nil {
			sn.refs--
		}
	}
	delete(rs.images, id)
	rs.sorted = nil
	return true
}

// withDefaults fills what a state file may leave out: Available, owned by the account itself,
// 20 GiB.
func (im *Image) withDefaults() {
	if im.Status == "" {
		im.Status = "Available"
	}
	if im.OwnerAlias == "" {
		im.OwnerAlias = "self"
	}
	if im.OwnerID == "" && im.OwnerAlias == "self" {
		im.OwnerID = DefaultOwnerID
	}
	if im.SizeGiB == 0 {
		im.SizeGiB = 20
	}
}
